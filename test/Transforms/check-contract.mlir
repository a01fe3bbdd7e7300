// RUN: bitttt-opt %s --bitttt-check-contract --split-input-file --verify-diagnostics
// RUN: bitttt-opt %s --bitttt-check-contract="allow=cross_entropy,lm_head" --split-input-file | FileCheck %s --check-prefix=ALLOW
// RUN: not bitttt-opt %s --bitttt-cpu-pipeline --split-input-file 2>&1 | FileCheck %s --check-prefix=PIPE

// An op without a lowering is named, once per op name with a count, at its
// first occurrence.
// ALLOW-LABEL: func @loss
// ALLOW: bitttt.cross_entropy
// PIPE: error: 'bitttt.cross_entropy' op is left after the target-independent half of bitttt-cpu-pipeline, which has no lowering for it (2 such ops); ops it leaves to the target lowering: lm_head, lm_head_q, bitlinear_q, gate_up_q, dot_2bit_i8
func.func @loss(%logits: tensor<8x64xf32>, %ids: tensor<8xi32>) -> (f32, f32) {
  // expected-error @+1 {{'bitttt.cross_entropy' op is left after this pipeline, which has no lowering for it (2 such ops)}}
  %a = bitttt.cross_entropy %logits, %ids : tensor<8x64xf32>, tensor<8xi32>
  %b = bitttt.cross_entropy %logits, %ids {ignore_index = 0} : tensor<8x64xf32>, tensor<8xi32>
  return %a, %b : f32, f32
}

// -----

// Ops of other dialects pass.
// ALLOW-LABEL: func @upstream
func.func @upstream(%x: f32) -> f32 {
  %y = arith.addf %x, %x : f32
  return %y : f32
}
