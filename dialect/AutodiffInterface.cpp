//===- AutodiffInterface.cpp - the generated interface code ---------------===//
#include "bitttt/Dialect/AutodiffInterface.h"

#include "bitttt/Dialect/BitTTTAutodiffInterface.cpp.inc"
