// A one-block Bit-TTT model (TTT-Linear variant) in the bitttt dialect:
// vocab 64, hidden 32, 2 TTT heads of 16, MLP 128, mini-batch 4, prefill of
// 8 tokens. Weights and TTT state are arguments; nothing is baked in.
// `README.md`'s first command runs this through bitttt-opt.
module {
  func.func @prefill(
      %ids: tensor<8xi32>,
      %embed: tensor<64x32xf32>,
      %norm1: tensor<32xf32>, %norm2: tensor<32xf32>,
      %q: tensor<32x32xf32>, %k: tensor<32x32xf32>, %v: tensor<32x32xf32>, %o: tensor<32x32xf32>,
      %lr_w: tensor<2x32xf32>, %lr_b: tensor<2xf32>,
      %ttt_g: tensor<2x16xf32>, %ttt_b: tensor<2x16xf32>,
      %post_g: tensor<32xf32>, %post_b: tensor<32xf32>,
      %gate: tensor<128x32xf32>, %up: tensor<128x32xf32>, %down: tensor<32x128xf32>,
      %norm_f: tensor<32xf32>, %lm_head: tensor<64x32xf32>,
      %w0: tensor<2x16x16xf32>, %c0: tensor<2x16xf32>,
      %keys0: tensor<2x4x16xf32>, %eg0: tensor<2x4x16xf32>, %pos0: index)
      -> (tensor<8x64xf32>, tensor<2x16x16xf32>, tensor<2x16xf32>,
          tensor<2x4x16xf32>, tensor<2x4x16xf32>, index) {
    %x = bitttt.embedding %embed[%ids] : tensor<64x32xf32>, tensor<8xi32> -> tensor<8x32xf32>

    // h = x + TTT(RMSNorm1(x))
    %n1 = bitttt.rms_norm %x, %norm1 : tensor<8x32xf32>, tensor<32xf32>
    %t, %w1, %c1, %keys1, %eg1, %pos1 = bitttt.ttt_linear %n1
        proj(%q, %k, %v, %o) lr(%lr_w, %lr_b) ttt_norm(%ttt_g, %ttt_b)
        post_norm(%post_g, %post_b) state(%w0, %c0, %keys0, %eg0, %pos0)
        {num_heads = 2, mini_batch = 4, base_lr = 1.0 : f32}
        : tensor<8x32xf32>, tensor<32x32xf32>, tensor<2x32xf32>, tensor<2xf32>,
          tensor<2x16xf32>, tensor<32xf32>, tensor<2x16x16xf32>, tensor<2x16xf32>,
          tensor<2x4x16xf32>
    %h = arith.addf %x, %t : tensor<8x32xf32>

    // out = h + SwiGLU(RMSNorm2(h))
    %n2 = bitttt.rms_norm %h, %norm2 : tensor<8x32xf32>, tensor<32xf32>
    %m = bitttt.swiglu %n2, %gate, %up, %down
        : tensor<8x32xf32>, tensor<128x32xf32>, tensor<32x128xf32>
    %out = arith.addf %h, %m : tensor<8x32xf32>

    %nf = bitttt.rms_norm %out, %norm_f : tensor<8x32xf32>, tensor<32xf32>
    %logits = bitttt.lm_head %nf, %lm_head
        : tensor<8x32xf32>, tensor<64x32xf32> -> tensor<8x64xf32>
    return %logits, %w1, %c1, %keys1, %eg1, %pos1
        : tensor<8x64xf32>, tensor<2x16x16xf32>, tensor<2x16xf32>,
          tensor<2x4x16xf32>, tensor<2x4x16xf32>, index
  }
}
