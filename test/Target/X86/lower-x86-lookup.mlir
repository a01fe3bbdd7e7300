// RUN: bitttt-opt %s --bitttt-lower-x86-dot=target=x86-64-v4 | FileCheck %s
// RUN: not bitttt-opt %s --bitttt-lower-x86-dot=target=x86-64-v3 2>&1 | FileCheck %s --check-prefix=AVX2

// lookup_i8 (the t5_b160 decode): entries 0..127 and 128..255 each by one
// vpermi2b over two 64-entry halves of the table, the index's sign bit
// choosing; AVX2 has no vpermi2b and refuses it.
// CHECK-LABEL: func @lookup
// CHECK-DAG: %[[NEG:.*]] = arith.cmpi slt, %arg0, %{{.*}} : vector<64xi8>
// CHECK-DAG: %[[T0:.*]] = arith.constant dense<[-125, -118,
// CHECK-DAG: %[[T1:.*]] = arith.constant dense<[72, 79,
// CHECK-DAG: %[[T2:.*]] = arith.constant dense<[18, 25,
// CHECK-DAG: %[[T3:.*]] = arith.constant dense<[-36, -29,
// CHECK-DAG: %[[LO:.*]] = llvm.call_intrinsic "llvm.x86.avx512.vpermi2var.qi.512"(%[[T0]], %arg0, %[[T1]])
// CHECK-DAG: %[[HI:.*]] = llvm.call_intrinsic "llvm.x86.avx512.vpermi2var.qi.512"(%[[T2]], %arg0, %[[T3]])
// CHECK: arith.select %[[NEG]], %[[HI]], %[[LO]]
// AVX2: error: 'bitttt.lookup_i8' op needs AVX-512 VBMI (vpermi2b); x86-64-v3 has none
func.func @lookup(%q: vector<64xi8>) -> vector<64xi8> {
  %r = bitttt.lookup_i8 %q, [-125, -118, -111, -104, -97, -90, -83, -76, -69, -62, -55, -48, -41, -34, -27, -20, -13, -6, 1, 8, 15, 22, 29, 36, 43, 50, 57, 64, 71, 78, 85, 92, 99, 106, 113, 120, -124, -117, -110, -103, -96, -89, -82, -75, -68, -61, -54, -47, -40, -33, -26, -19, -12, -5, 2, 9, 16, 23, 30, 37, 44, 51, 58, 65, 72, 79, 86, 93, 100, 107, 114, 121, -123, -116, -109, -102, -95, -88, -81, -74, -67, -60, -53, -46, -39, -32, -25, -18, -11, -4, 3, 10, 17, 24, 31, 38, 45, 52, 59, 66, 73, 80, 87, 94, 101, 108, 115, 122, -122, -115, -108, -101, -94, -87, -80, -73, -66, -59, -52, -45, -38, -31, -24, -17, -10, -3, 4, 11, 18, 25, 32, 39, 46, 53, 60, 67, 74, 81, 88, 95, 102, 109, 116, 123, -121, -114, -107, -100, -93, -86, -79, -72, -65, -58, -51, -44, -37, -30, -23, -16, -9, -2, 5, 12, 19, 26, 33, 40, 47, 54, 61, 68, 75, 82, 89, 96, 103, 110, 117, 124, -120, -113, -106, -99, -92, -85, -78, -71, -64, -57, -50, -43, -36, -29, -22, -15, -8, -1, 6, 13, 20, 27, 34, 41, 48, 55, 62, 69, 76, 83, 90, 97, 104, 111, 118, 125, -119, -112, -105, -98, -91, -84, -77, -70, -63, -56, -49, -42, -35, -28, -21, -14, -7, 0, 7, 14, 21, 28, 35, 42, 49, 56, 63, 70, 77, 84, 91, 98, 105, 112, 119, -125, -118, -111, -104, -97] : vector<64xi8>
  return %r : vector<64xi8>
}
