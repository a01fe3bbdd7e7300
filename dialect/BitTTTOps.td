//===- BitTTTOps.td - all bitttt ops -----------------------*- tablegen -*-===//
//
// One file per concern; this file only gathers them for TableGen.
//
//===----------------------------------------------------------------------===//

#ifndef BITTTT_OPS_TD
#define BITTTT_OPS_TD

include "dialect/BitTTTQuantOps.td"
include "dialect/BitTTTNormOps.td"
include "dialect/BitTTTLayerOps.td"
include "dialect/BitTTTModelOps.td"
include "dialect/BitTTTTrainOps.td"
include "dialect/BitTTTKernelOps.td"
include "dialect/BitTTTFusedOps.td"

#endif // BITTTT_OPS_TD
