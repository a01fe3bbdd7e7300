"""AdamW step vs torch.optim.AdamW."""
import pytest
import torch

from bitttt_ref.optim import adamw_step, adamw_step_all


@pytest.mark.parametrize("dtype,tol", [(torch.float64, 1e-13), (torch.float32, 2e-6)])
@pytest.mark.parametrize("hp", [dict(lr=1e-3), dict(lr=3e-2, beta1=0.8, beta2=0.99, eps=1e-6,
                                                    weight_decay=0.0),
                                dict(lr=0.5, weight_decay=0.3)])
def test_adamw_matches_torch(dtype, tol, hp):
    g = torch.Generator().manual_seed(0)
    p0 = torch.randn(7, 5, generator=g, dtype=dtype)
    grads = [torch.randn(7, 5, generator=g, dtype=dtype) * (10 ** (i % 3 - 1)) for i in range(12)]
    grads[3][0, 0] = 0.0
    kw = dict(hp)
    lr = kw.pop("lr")
    tp = p0.clone().requires_grad_()
    opt = torch.optim.AdamW([tp], lr=lr, betas=(kw.get("beta1", 0.9), kw.get("beta2", 0.95)),
                            eps=kw.get("eps", 1e-8), weight_decay=kw.get("weight_decay", 0.1))
    p, m, v = p0.clone(), torch.zeros_like(p0), torch.zeros_like(p0)
    for t, gr in enumerate(grads, start=1):
        tp.grad = gr.clone()
        opt.step()
        p, m, v = adamw_step(p, gr, m, v, t, lr, **kw)
        torch.testing.assert_close(p, tp.detach(), rtol=tol, atol=tol)
        st = opt.state[tp]
        torch.testing.assert_close(m, st["exp_avg"], rtol=tol, atol=tol)
        torch.testing.assert_close(v, st["exp_avg_sq"], rtol=tol, atol=tol)


def test_adamw_defaults_and_dict_form():
    p = {"a": torch.ones(3, dtype=torch.float64), "b": -torch.ones(2, dtype=torch.float64)}
    g = {"a": torch.full((3,), 0.5, dtype=torch.float64), "b": torch.zeros(2, dtype=torch.float64)}
    P, M, V = adamw_step_all(p, g, {}, {}, 1, 0.1)
    # t = 1: m_hat = g, v_hat = g^2 -> step = lr * g / (|g| + eps); decay lr * wd * p
    torch.testing.assert_close(P["a"], torch.full((3,), 1 - 0.01 - 0.1 * 0.5 / (0.5 + 1e-8),
                                                  dtype=torch.float64))
    torch.testing.assert_close(P["b"], torch.full((2,), -(1 - 0.01), dtype=torch.float64))
    torch.testing.assert_close(M["a"], torch.full((3,), 0.05, dtype=torch.float64))
    with pytest.raises(ValueError):
        adamw_step(p["a"], g["a"], M["a"], V["a"], 0, 0.1)
