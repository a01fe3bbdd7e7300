//===- BitTTTOps.td - all bitttt ops -----------------------*- tablegen -*-===//
//
// One file per concern; this file only gathers them for TableGen.
//
//===----------------------------------------------------------------------===//

#ifndef BITTTT_OPS_TD
#define BITTTT_OPS_TD

include "bitttt/Dialect/BitTTTQuantOps.td"
include "bitttt/Dialect/BitTTTNormOps.td"
include "bitttt/Dialect/BitTTTLayerOps.td"
include "bitttt/Dialect/BitTTTModelOps.td"
include "bitttt/Dialect/BitTTTTrainOps.td"
include "bitttt/Dialect/BitTTTKernelOps.td"
include "bitttt/Dialect/BitTTTFusedOps.td"

#endif // BITTTT_OPS_TD
