// bitttt-train-pipeline end to end on a one-layer TTT-Linear model: B = 2
// windows of T = 6 tokens (two mini-batches of 4, the last one partial),
// from @train_loss (bitttt-compile --train) to the LLVM dialect with the
// three entry points and their ABI description (docs/abi.md,
// docs/training.md).
// RUN: rm -rf %t && mkdir -p %t
// RUN: %python -m bitttt_ref make-random --config %S/Inputs/train-linear-one-layer.json --seed 1 %t/model
// RUN: bitttt-compile %t/model --train --batch 2 --context 6 -o %t/train.mlir
// RUN: bitttt-opt %t/train.mlir --bitttt-train-pipeline=target=x86-64-v4 -o %t/lowered.mlir
// RUN: FileCheck %s --input-file=%t/lowered.mlir
// RUN: FileCheck %s --input-file=%t/lowered.mlir --check-prefix=CLEAN
// RUN: FileCheck %s --input-file=%t/lowered.mlir --check-prefix=ABI
// RUN: bitttt-opt %t/train.mlir --bitttt-train-pipeline="target=x86-64-v3 parallel=false" | FileCheck %s --check-prefix=SEQ

// Only LLVM dialect ops are left (no positive pattern: the NOTs scan the
// whole output), and no call of MLIR's memrefCopy runtime function (the
// artifact links only libc and libm).
// CLEAN-NOT: {{^ *(%[^ ]+ = )?}}bitttt.
// CLEAN-NOT: {{^ *(%[^ ]+ = )?}}linalg.
// CLEAN-NOT: {{^ *(%[^ ]+ = )?}}tensor.
// CLEAN-NOT: {{^ *(%[^ ]+ = )?}}memref.
// CLEAN-NOT: {{^ *(%[^ ]+ = )?}}scf.
// CLEAN-NOT: {{^ *(%[^ ]+ = )?}}vector.
// CLEAN-NOT: func.func
// CLEAN-NOT: memrefCopy

// The three training functions and an entry point for each.
// CHECK-DAG: llvm.func internal @train_grad(
// CHECK-DAG: llvm.func internal @train_apply(
// CHECK-DAG: llvm.func internal @train_step(
// CHECK-DAG: llvm.func @bitttt_entry_train_grad(%{{[^:]*}}: !llvm.ptr, %{{[^:]*}}: !llvm.ptr)
// CHECK-DAG: llvm.func @bitttt_entry_train_apply(%{{[^:]*}}: !llvm.ptr, %{{[^:]*}}: !llvm.ptr)
// CHECK-DAG: llvm.func @bitttt_entry_train_step(%{{[^:]*}}: !llvm.ptr, %{{[^:]*}}: !llvm.ptr)
// CHECK-DAG: llvm.mlir.global external constant @bitttt_abi(
// CHECK-NOT: @bitttt_entry_train_loss
// SEQ-DAG: llvm.func @bitttt_entry_train_step(
// SEQ-DAG: llvm.func @bitttt_entry_train_grad(
// SEQ-DAG: llvm.func @bitttt_entry_train_apply(

// The ABI description (JSON, keys sorted, '"' printed as \22). Parameters
// and AdamW moments are updated in place, so they are inputs only:
// train_step's outputs are just loss and grad_norm, train_apply's just
// grad_norm; train_grad returns the loss and one gradient per parameter.
// ABI: @bitttt_abi("{\22abi_version\22:2,\22functions\22:{
// ABI-SAME: \22train_apply\22:{\22inputs\22:[{\22dtype\22:\22F32\22,\22name\22:\22embed.weight\22,\22role\22:\22param\22,\22shape\22:[64,32]},
// ABI-SAME: {\22dtype\22:\22F32\22,\22name\22:\22embed.weight\22,\22role\22:\22adam_m\22,\22shape\22:[64,32]},
// ABI-SAME: {\22dtype\22:\22F32\22,\22name\22:\22embed.weight\22,\22role\22:\22adam_v\22,\22shape\22:[64,32]},
// ABI-SAME: {\22dtype\22:\22F32\22,\22name\22:\22embed.weight\22,\22role\22:\22grad\22,\22shape\22:[64,32]},
// ABI-SAME: {\22dtype\22:\22F32\22,\22name\22:\22lm_head.weight\22,\22role\22:\22grad\22,\22shape\22:[64,32]},{\22dtype\22:\22I64\22,\22name\22:\22step\22,\22role\22:\22io\22,\22shape\22:[]},{\22dtype\22:\22F32\22,\22name\22:\22lr\22,\22role\22:\22io\22,\22shape\22:[]}],
// ABI-SAME: \22outputs\22:[{\22dtype\22:\22F32\22,\22name\22:\22grad_norm\22,\22role\22:\22io\22,\22shape\22:[]}],\22symbol\22:\22bitttt_entry_train_apply\22},
// ABI-SAME: \22train_grad\22:{\22inputs\22:[{\22dtype\22:\22F32\22,\22name\22:\22embed.weight\22,\22role\22:\22tensor\22,\22shape\22:[64,32]},
// ABI-SAME: {\22dtype\22:\22I32\22,\22name\22:\22tokens\22,\22role\22:\22io\22,\22shape\22:[2,7]}],
// ABI-SAME: \22outputs\22:[{\22dtype\22:\22F32\22,\22name\22:\22loss\22,\22role\22:\22io\22,\22shape\22:[]},{\22dtype\22:\22F32\22,\22name\22:\22embed.weight\22,\22role\22:\22grad\22,\22shape\22:[64,32]},
// ABI-SAME: {\22dtype\22:\22F32\22,\22name\22:\22layers.0.ttt.W0\22,\22role\22:\22grad\22,\22shape\22:[2,16,16]},
// ABI-SAME: {\22dtype\22:\22F32\22,\22name\22:\22lm_head.weight\22,\22role\22:\22grad\22,\22shape\22:[64,32]}],\22symbol\22:\22bitttt_entry_train_grad\22},
// ABI-SAME: \22train_step\22:{\22inputs\22:[{\22dtype\22:\22F32\22,\22name\22:\22embed.weight\22,\22role\22:\22param\22,\22shape\22:[64,32]},
// ABI-SAME: {\22dtype\22:\22F32\22,\22name\22:\22lm_head.weight\22,\22role\22:\22adam_v\22,\22shape\22:[64,32]},{\22dtype\22:\22I64\22,\22name\22:\22step\22,\22role\22:\22io\22,\22shape\22:[]},{\22dtype\22:\22F32\22,\22name\22:\22lr\22,\22role\22:\22io\22,\22shape\22:[]},{\22dtype\22:\22I32\22,\22name\22:\22tokens\22,\22role\22:\22io\22,\22shape\22:[2,7]}],
// ABI-SAME: \22outputs\22:[{\22dtype\22:\22F32\22,\22name\22:\22loss\22,\22role\22:\22io\22,\22shape\22:[]},{\22dtype\22:\22F32\22,\22name\22:\22grad_norm\22,\22role\22:\22io\22,\22shape\22:[]}],\22symbol\22:\22bitttt_entry_train_step\22}}}
