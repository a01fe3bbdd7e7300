//===- VectorizeMatmul.cpp - tile + vectorize f32 GEMMs for x86 -----------===//
//
// Training's backward pass is mostly linalg.matmul / linalg.batch_matmul on
// static f32 tensors. Each one becomes register tiles of R rows × 2 vectors
// of the target's f32 lanes (CpuTargets.def), vectorized with
// linalg::vectorize; the K loop carries one accumulator per row in
// registers (hoistLoopInvariantSubsets, then splitRows) and vector.contract
// is lowered through outer products to one FMA per row and vector.
// Remainders get their own static tiles: the op is split (linalg::splitOp)
// at the last multiple of the tile, so no tile needs masks. Big problems
// run on the runtime's threads, an scf.forall over whole tiles: the batch,
// else blocks of rows while B fits in L2 beside them, else blocks of
// columns (a task then keeps its part of B for all rows). K above 256 runs
// in blocks. A linalg.fill init becomes the accumulators' initial value
// instead of a pass over C. Per-head vector-matrix products (TTT's k·W and
// q·W in one generic) get register tiles of 4 vectors of columns over
// (h, j, a), their outputs carried in registers over a.
//
//===----------------------------------------------------------------------===//
#include "PassTarget.h"
#include "bitttt/Target/X86/Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/Tensor/Transforms/Transforms.h"
#include "mlir/Dialect/Vector/Transforms/LoweringPatterns.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "mlir/Transforms/LoopInvariantCodeMotionUtils.h"

namespace mlir::bitttt {
#define GEN_PASS_DEF_BITTTTVECTORIZEMATMUL
#include "bitttt/Target/X86/Passes.h.inc"
} // namespace mlir::bitttt

using namespace mlir;

namespace {

/// Accumulators of one register tile: `rows` × `cols` f32, cols = 2 vectors.
/// AVX2 has 16 ymm registers: 6 × 2 accumulators, 2 vectors of B and one
/// broadcast of A (BLIS's Haswell kernel). AVX-512 has 32 zmm and folds the
/// broadcast into the FMA: 12 × 2 accumulators and 2 vectors of B.
struct RegisterTile {
  int64_t rows, cols;
};

RegisterTile registerTile(int64_t lanes) {
  return {lanes >= 16 ? 12 : 6, 2 * lanes};
}

/// Below this many flops a GEMM stays on the calling thread: a parallel_for
/// costs a few microseconds.
constexpr int64_t kMinParallelFlops = int64_t(1) << 22;
/// Tasks of a parallel GEMM: at least this many when the tiles allow…
constexpr int64_t kMinTasks = 16;
/// …and at most this many rows each (B's register column is reused over
/// them from L2).
constexpr int64_t kMaxTaskRows = 64;
/// Bytes of B one task may stream through L2 (a part of 1–2 MB, with A's
/// rows and C beside it). Above it the tasks split N instead of M: a task
/// then keeps its columns of B for all of M.
constexpr int64_t kL2BytesForB = int64_t(512) << 10;
/// K above this is blocked (the block's C tiles are re-read): a column of
/// B's register tile then touches at most this many rows, i.e. pages when a
/// row of B is 4 KiB or more.
constexpr int64_t kMaxKBlock = 256;

/// Loop positions of a (batch_)matmul's iteration space.
struct GemmDims {
  std::optional<unsigned> batch;
  unsigned m, n, k;
};

std::optional<GemmDims> gemmDims(linalg::LinalgOp op) {
  if (isa<linalg::MatmulOp>(op))
    return GemmDims{std::nullopt, 0, 1, 2};
  if (isa<linalg::BatchMatmulOp>(op))
    return GemmDims{0, 1, 2, 3};
  return std::nullopt;
}

bool isCandidate(linalg::LinalgOp op) {
  if (!gemmDims(op) || !op.hasPureTensorSemantics())
    return false;
  for (Value v : op->getOperands()) {
    auto type = dyn_cast<RankedTensorType>(v.getType());
    if (!type || !type.hasStaticShape() || !type.getElementType().isF32())
      return false;
  }
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  if (llvm::any_of(ranges, [](int64_t r) { return r <= 0; }))
    return false;
  return succeeded(linalg::vectorizeOpPrecondition(op));
}

/// The largest divisor of `n` that is at most `limit` (at least 1).
int64_t largestDivisorAtMost(int64_t n, int64_t limit) {
  for (int64_t d = std::min(n, limit); d > 1; --d)
    if (n % d == 0)
      return d;
  return 1;
}

class GemmTiler {
public:
  GemmTiler(IRRewriter &rewriter, RegisterTile tile)
      : rewriter(rewriter), tile(tile) {}

  /// Tiles and vectorizes `op`. Failure (not expected for an op that passed
  /// isCandidate) may leave it half rewritten: the pass then fails.
  LogicalResult run(linalg::LinalgOp op);

private:
  IRRewriter &rewriter;
  RegisterTile tile;
  GemmDims dims;
  Value fillValue; // the scalar of a linalg.fill init, or null

  FailureOr<TilingInterface> tileForall(TilingInterface op,
                                        ArrayRef<int64_t> sizes);
  FailureOr<SmallVector<TilingInterface>>
  splitRemainder(TilingInterface op, unsigned dim, int64_t tileSize);
  LogicalResult tileTask(TilingInterface op, int64_t kBlock);
  LogicalResult tileRegisters(TilingInterface op);
  SmallVector<OpFoldResult> indexAttrs(ArrayRef<int64_t> values) {
    return llvm::map_to_vector(values, [&](int64_t v) -> OpFoldResult {
      return rewriter.getIndexAttr(v);
    });
  }
};

LogicalResult GemmTiler::run(linalg::LinalgOp op) {
  dims = *gemmDims(op);
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  int64_t flops = 2;
  for (int64_t r : ranges)
    flops *= r;
  bool parallel = flops >= kMinParallelFlops;
  int64_t m = ranges[dims.m], n = ranges[dims.n], k = ranges[dims.k];
  int64_t rowTiles = m / tile.rows, colTiles = n / tile.cols;

  // Which dimension the tasks split: M while B fits beside them in L2,
  // else N (all rows of a task share its columns of B).
  enum class Spread { None, Batch, Rows, Cols } spread = Spread::None;
  int64_t perTask = 1; // register tiles per task
  if (parallel && dims.batch) {
    spread = Spread::Batch;
  } else if (parallel && k * n * 4 > kL2BytesForB && colTiles > 1) {
    spread = Spread::Cols;
    int64_t fit = std::max<int64_t>(1, kL2BytesForB / (k * tile.cols * 4));
    perTask = largestDivisorAtMost(
        colTiles, std::max<int64_t>(1, std::min(fit, colTiles / kMinTasks)));
  } else if (parallel && rowTiles > 1) {
    spread = Spread::Rows;
    perTask = largestDivisorAtMost(
        rowTiles, std::max<int64_t>(1, std::min(kMaxTaskRows / tile.rows,
                                                rowTiles / kMinTasks)));
  }
  int64_t kBlock = k > kMaxKBlock ? largestDivisorAtMost(k, kMaxKBlock) : k;
  if (kBlock < kMaxKBlock / 4)
    kBlock = k; // no divisor worth it: one K loop

  // Every element of C is written once by one register tile, so a fill of
  // the init can start the accumulators instead (not when K is blocked:
  // later blocks start from C).
  OpOperand &init = op.getDpsInitsMutable()[0];
  fillValue = nullptr;
  auto fill = init.get().getDefiningOp<linalg::FillOp>();
  if (fill && kBlock == k) {
    fillValue = fill.getInputs()[0];
    rewriter.modifyOpInPlace(op, [&] { init.set(fill.getOutputs()[0]); });
  }

  auto root = cast<TilingInterface>(op.getOperation());
  SmallVector<int64_t> sizes(ranges.size(), 0);
  switch (spread) {
  case Spread::None:
    return tileTask(root, kBlock);
  case Spread::Batch: {
    sizes[*dims.batch] = 1;
    FailureOr<TilingInterface> task = tileForall(root, sizes);
    return failed(task) ? failure() : tileTask(*task, kBlock);
  }
  case Spread::Rows:
  case Spread::Cols: {
    // The whole register tiles in tasks, the remainder on its own.
    unsigned dim = spread == Spread::Rows ? dims.m : dims.n;
    int64_t tileSize = spread == Spread::Rows ? tile.rows : tile.cols;
    FailureOr<SmallVector<TilingInterface>> pieces =
        splitRemainder(root, dim, tileSize);
    if (failed(pieces))
      return failure();
    sizes[dim] = perTask * tileSize;
    FailureOr<TilingInterface> task = tileForall(pieces->front(), sizes);
    if (failed(task) || failed(tileTask(*task, kBlock)))
      return failure();
    return pieces->size() == 1 ? success() : tileTask(pieces->back(), k);
  }
  }
  llvm_unreachable("unknown spread");
}

/// One task: K blocks (if `kBlock` < K), in them the pieces that the
/// remainders of M and N leave, each in register tiles.
LogicalResult GemmTiler::tileTask(TilingInterface op, int64_t kBlock) {
  auto linalgOp = cast<linalg::LinalgOp>(op.getOperation());
  if (kBlock < linalgOp.getStaticLoopRanges()[dims.k]) {
    SmallVector<int64_t> sizes(linalgOp.getNumLoops(), 0);
    sizes[dims.k] = kBlock;
    scf::SCFTilingOptions options;
    options.setTileSizes(indexAttrs(sizes));
    FailureOr<scf::SCFTilingResult> tiled =
        mlir::bitttt::tileAndReplace(rewriter, op, options);
    if (failed(tiled))
      return failure();
    op = cast<TilingInterface>(tiled->tiledOps.back());
  }
  FailureOr<SmallVector<TilingInterface>> rowPieces =
      splitRemainder(op, dims.m, tile.rows);
  if (failed(rowPieces))
    return failure();
  for (TilingInterface rowPiece : *rowPieces) {
    FailureOr<SmallVector<TilingInterface>> pieces =
        splitRemainder(rowPiece, dims.n, tile.cols);
    if (failed(pieces))
      return failure();
    for (TilingInterface piece : *pieces)
      if (failed(tileRegisters(piece)))
        return failure();
  }
  return success();
}

FailureOr<TilingInterface> GemmTiler::tileForall(TilingInterface op,
                                                 ArrayRef<int64_t> sizes) {
  scf::SCFTilingOptions options;
  options.setLoopType(scf::SCFTilingOptions::LoopType::ForallOp);
  options.setTileSizes(indexAttrs(sizes));
  FailureOr<scf::SCFTilingResult> tiled =
      mlir::bitttt::tileAndReplace(rewriter, op, options);
  if (failed(tiled))
    return failure();
  return cast<TilingInterface>(tiled->tiledOps.back());
}

/// `op` as the pieces [0, full) and [full, size) of dimension `dim`, `full`
/// the last multiple of `tileSize`: each piece tiles `dim` exactly.
FailureOr<SmallVector<TilingInterface>>
GemmTiler::splitRemainder(TilingInterface op, unsigned dim, int64_t tileSize) {
  int64_t size =
      cast<linalg::LinalgOp>(op.getOperation()).getStaticLoopRanges()[dim];
  int64_t full = size - size % tileSize;
  if (full == 0 || full == size)
    return SmallVector<TilingInterface>{op};
  rewriter.setInsertionPoint(op);
  auto [first, second] =
      linalg::splitOp(rewriter, op, dim, rewriter.getIndexAttr(full));
  if (!first || !second)
    return failure();
  return SmallVector<TilingInterface>{first, second};
}

/// Register tiles over (batch,) N, M — M inner, so a column of B stays hot
/// over the rows — and, inside, the K loop on the accumulators.
LogicalResult GemmTiler::tileRegisters(TilingInterface op) {
  auto linalgOp = cast<linalg::LinalgOp>(op.getOperation());
  SmallVector<int64_t> ranges = linalgOp.getStaticLoopRanges();
  SmallVector<int64_t> sizes(ranges.size(), 0);
  if (dims.batch)
    sizes[*dims.batch] = 1;
  sizes[dims.m] = std::min(tile.rows, ranges[dims.m]);
  sizes[dims.n] = std::min(tile.cols, ranges[dims.n]);
  SmallVector<int64_t> order;
  if (dims.batch)
    order.push_back(*dims.batch);
  order.append({dims.n, dims.m, dims.k});

  scf::SCFTilingOptions options;
  options.setTileSizes(indexAttrs(sizes));
  options.setInterchange(order);
  FailureOr<scf::SCFTilingResult> tiled =
      mlir::bitttt::tileAndReplace(rewriter, op, options);
  if (failed(tiled))
    return failure();
  auto tileOp = cast<linalg::LinalgOp>(tiled->tiledOps.back());

  Operation *fill = nullptr;
  if (fillValue) {
    OpOperand &init = tileOp.getDpsInitsMutable()[0];
    rewriter.setInsertionPoint(tileOp);
    fill =
        linalg::FillOp::create(rewriter, tileOp.getLoc(), ValueRange{fillValue},
                               ValueRange{init.get()});
    rewriter.modifyOpInPlace(tileOp, [&] { init.set(fill->getResult(0)); });
  }

  // The K loop, one rank-1 update per step.
  if (ranges[dims.k] > 1) {
    SmallVector<int64_t> kSizes(ranges.size(), 0);
    kSizes[dims.k] = 1;
    scf::SCFTilingOptions kOptions;
    kOptions.setTileSizes(indexAttrs(kSizes));
    rewriter.setInsertionPoint(tileOp);
    FailureOr<scf::SCFTilingResult> kTiled = scf::tileUsingSCF(
        rewriter, cast<TilingInterface>(tileOp.getOperation()), kOptions);
    if (failed(kTiled))
      return failure();
    rewriter.replaceOp(tileOp, kTiled->replacements);
    tileOp = cast<linalg::LinalgOp>(kTiled->tiledOps.back());
  }

  rewriter.setInsertionPoint(tileOp);
  FailureOr<linalg::VectorizationResult> vectorized = linalg::vectorize(
      rewriter, tileOp, /*inputVectorSizes=*/{}, /*inputScalableVecDims=*/{},
      /*vectorizeNDExtract=*/false, /*flatten1DDepthwiseConv=*/false,
      /*assumeDynamicDimsMatchVecSizes=*/false,
      /*createNamedContraction=*/true);
  if (failed(vectorized))
    return failure();
  rewriter.replaceOp(tileOp, vectorized->replacements);
  if (fill) {
    rewriter.setInsertionPoint(fill);
    FailureOr<linalg::VectorizationResult> filled =
        linalg::vectorize(rewriter, fill);
    if (failed(filled))
      return failure();
    rewriter.replaceOp(fill, filled->replacements);
  }
  return success();
}

/// Marks the row loop of a vector-matrix tile until its outputs are hoisted.
constexpr llvm::StringLiteral kVecMatLoop = "bitttt.vecmat_rows";

bool isTile(Type type) {
  auto v = dyn_cast<VectorType>(type);
  return v && v.getRank() == 2 && !v.isScalable();
}

/// A transfer of a whole 2-D tile: in bounds, unmasked, minor identity.
bool isRowMajorTransfer(VectorTransferOpInterface xfer) {
  return isTile(xfer.getVectorType()) && !xfer.getMask() &&
         xfer.getPermutationMap().isMinorIdentity() &&
         llvm::all_of(xfer.getInBoundsValues(), [](bool b) { return b; });
}

/// The indices of row `r` of a tile transfer at `indices`.
SmallVector<Value> rowIndices(RewriterBase &rewriter, Location loc,
                              ValueRange indices, int64_t r) {
  SmallVector<Value> out(indices);
  Value &row = out[out.size() - 2];
  row = arith::AddIOp::create(rewriter, loc, row,
                              arith::ConstantIndexOp::create(rewriter, loc, r));
  return out;
}

/// The rows of the 2-D `tile`: one read each when it is read from a tensor,
/// else extracts.
SmallVector<Value> tileRows(RewriterBase &rewriter, Location loc, Value tile) {
  auto type = cast<VectorType>(tile.getType());
  auto rowType = VectorType::get({type.getDimSize(1)}, type.getElementType());
  SmallVector<Value> rows;
  auto read = tile.getDefiningOp<vector::TransferReadOp>();
  for (int64_t r = 0; r < type.getDimSize(0); ++r) {
    if (read && isRowMajorTransfer(read))
      rows.push_back(vector::TransferReadOp::create(
          rewriter, loc, rowType, read.getBase(),
          rowIndices(rewriter, loc, read.getIndices(), r), read.getPadding(),
          ArrayRef<bool>{true}));
    else
      rows.push_back(vector::ExtractOp::create(rewriter, loc, tile, r));
  }
  return rows;
}

/// `rows` as one 2-D vector (an insert chain the canonicalizer folds away
/// where only rows are extracted again).
Value joinRows(RewriterBase &rewriter, Location loc, VectorType type,
               ValueRange rows) {
  Value joined =
      arith::ConstantOp::create(rewriter, loc, rewriter.getZeroAttr(type));
  for (auto [r, row] : llvm::enumerate(rows))
    joined = vector::InsertOp::create(rewriter, loc, row, joined, int64_t(r));
  return joined;
}

/// The 2-D vector iter_args of `loop` (a register tile's accumulators) as
/// one 1-D vector per row, read and written row by row, so that LLVM keeps
/// each row in a register instead of rebuilding an aggregate.
void splitRows(RewriterBase &rewriter, scf::ForOp loop) {
  if (llvm::none_of(loop.getInitArgs().getTypes(), isTile))
    return;
  Location loc = loop.getLoc();
  auto split = [&](ValueRange values, SmallVectorImpl<Value> &out) {
    for (Value v : values) {
      if (isTile(v.getType()))
        llvm::append_range(out, tileRows(rewriter, loc, v));
      else
        out.push_back(v);
    }
  };
  auto join = [&](ValueRange oldValues, ValueRange rows,
                  SmallVectorImpl<Value> &out) {
    for (Value v : oldValues) {
      auto type = dyn_cast<VectorType>(v.getType());
      int64_t n = isTile(v.getType()) ? type.getDimSize(0) : 1;
      out.push_back(n == 1 && !isTile(v.getType())
                        ? rows.front()
                        : joinRows(rewriter, loc, type, rows.take_front(n)));
      rows = rows.drop_front(n);
    }
  };

  rewriter.setInsertionPoint(loop);
  SmallVector<Value> inits;
  split(loop.getInitArgs(), inits);
  auto newLoop =
      scf::ForOp::create(rewriter, loc, loop.getLowerBound(),
                         loop.getUpperBound(), loop.getStep(), inits);
  Block *body = newLoop.getBody();
  rewriter.setInsertionPointToStart(body);
  SmallVector<Value> args = {newLoop.getInductionVar()};
  join(loop.getRegionIterArgs(), newLoop.getRegionIterArgs(), args);
  rewriter.mergeBlocks(loop.getBody(), body, args);
  auto yield = cast<scf::YieldOp>(body->getTerminator());
  rewriter.setInsertionPoint(yield);
  SmallVector<Value> yielded;
  split(yield.getOperands(), yielded);
  rewriter.modifyOpInPlace(yield, [&] { yield->setOperands(yielded); });

  // Tiles written back whole: one write per row.
  ValueRange rows = newLoop.getResults();
  for (Value result : loop.getResults()) {
    if (!isTile(result.getType())) {
      rows = rows.drop_front();
      continue;
    }
    int64_t n = cast<VectorType>(result.getType()).getDimSize(0);
    ValueRange tileRows = rows.take_front(n);
    rows = rows.drop_front(n);
    for (OpOperand &use : llvm::make_early_inc_range(result.getUses())) {
      auto write = dyn_cast<vector::TransferWriteOp>(use.getOwner());
      if (!write || use.get() != write.getVector() ||
          !isRowMajorTransfer(write) ||
          !isa<RankedTensorType>(write.getBase().getType()))
        continue;
      rewriter.setInsertionPoint(write);
      Value dest = write.getBase();
      for (auto [r, row] : llvm::enumerate(tileRows))
        dest = vector::TransferWriteOp::create(
                   rewriter, write.getLoc(), row, dest,
                   rowIndices(rewriter, write.getLoc(), write.getIndices(),
                              int64_t(r)),
                   ArrayRef<bool>{true})
                   .getResult();
      rewriter.replaceOp(write, dest);
    }
  }
  rewriter.setInsertionPointAfter(newLoop);
  SmallVector<Value> results;
  join(loop.getResults(), newLoop.getResults(), results);
  rewriter.replaceOp(loop, results);
}

/// Per-head vector-matrix products, out[h, j] = Σ_a x[h, a]·m[h, a, j]
/// (the TTT decode's k·W and q·W, both in one generic): loops (h, a, j) =
/// (parallel, reduction, parallel), static f32, every init indexed (h, j).
/// Loop lowering leaves j innermost, so each output vector is loaded and
/// stored once per row of m. Returns the columns of one register tile (up
/// to 4 vectors, a divisor of J), or 0 when `op` is not one.
int64_t vecMatColumns(linalg::GenericOp op, int64_t lanes) {
  using utils::IteratorType;
  if (!op.hasPureTensorSemantics() || op.getNumLoops() != 3 ||
      op.getIteratorTypesArray() !=
          SmallVector<IteratorType>{IteratorType::parallel,
                                    IteratorType::reduction,
                                    IteratorType::parallel})
    return 0;
  for (Value v : op->getOperands()) {
    auto type = dyn_cast<RankedTensorType>(v.getType());
    if (!type || !type.hasStaticShape() || !type.getElementType().isF32())
      return 0;
  }
  AffineMap hj = AffineMap::get(3, 0,
                                {getAffineDimExpr(0, op.getContext()),
                                 getAffineDimExpr(2, op.getContext())},
                                op.getContext());
  for (OpOperand &init : op.getDpsInitsMutable())
    if (op.getMatchingIndexingMap(&init) != hj)
      return 0;
  int64_t cols = op.getStaticLoopRanges()[2];
  if (failed(linalg::vectorizeOpPrecondition(op)))
    return 0;
  for (int64_t vectors : {4, 2, 1})
    if (cols % (vectors * lanes) == 0)
      return vectors * lanes;
  return 0;
}

/// `op` (see vecMatColumns) as tiles [1, 1, cols] over (h, j, a), each
/// vectorized, the a loop marked: hoisting then carries every output's tile
/// in registers over it, one multiply and add per vector of m. The sums
/// are formed in the same order as the loop lowering's.
void tileVecMat(IRRewriter &rewriter, linalg::GenericOp op, int64_t cols) {
  scf::SCFTilingOptions options;
  options.setTileSizes({rewriter.getIndexAttr(1), rewriter.getIndexAttr(1),
                        rewriter.getIndexAttr(cols)});
  options.setInterchange({0, 2, 1});
  FailureOr<SmallVector<LoopLikeOpInterface>> loops =
      mlir::bitttt::tileAndVectorize(
          rewriter, cast<TilingInterface>(op.getOperation()), options);
  if (succeeded(loops))
    loops->back()->setAttr(kVecMatLoop, rewriter.getUnitAttr());
}

struct VectorizeMatmulPass
    : mlir::bitttt::impl::BitTTTVectorizeMatmulBase<VectorizeMatmulPass> {
  using BitTTTVectorizeMatmulBase::BitTTTVectorizeMatmulBase;

  void runOnOperation() override {
    const ::bitttt::x86::CpuTarget *cpu = mlir::bitttt::targetForPass(
        getOperation(), "bitttt-vectorize-matmul", target);
    if (!cpu)
      return signalPassFailure();
    SmallVector<linalg::LinalgOp> candidates;
    SmallVector<std::pair<linalg::GenericOp, int64_t>> vecMats;
    getOperation().walk([&](linalg::LinalgOp op) {
      if (isCandidate(op))
        candidates.push_back(op);
      auto generic = dyn_cast<linalg::GenericOp>(op.getOperation());
      if (int64_t cols = generic ? vecMatColumns(generic, cpu->f32Lanes) : 0)
        vecMats.push_back({generic, cols});
    });
    if (candidates.empty() && vecMats.empty())
      return;
    IRRewriter rewriter(&getContext());
    for (auto [op, cols] : vecMats)
      tileVecMat(rewriter, op, cols);
    GemmTiler tiler(rewriter, registerTile(cpu->f32Lanes));
    for (linalg::LinalgOp op : candidates) {
      Location loc = op.getLoc();
      if (failed(tiler.run(op))) {
        emitError(loc) << "bitttt-vectorize-matmul: could not tile and "
                          "vectorize this matmul";
        return signalPassFailure();
      }
    }

    MLIRContext *ctx = &getContext();
    // Fold the tile slices into the transfers and forward the fill into the
    // accumulators' initial value.
    RewritePatternSet cleanup(ctx);
    tensor::populateFoldTensorSubsetIntoVectorTransferPatterns(cleanup);
    addCanonicalizations(cleanup);
    FrozenRewritePatternSet frozenCleanup(std::move(cleanup));
    // (Not converging within the driver's limit leaves valid IR.)
    (void)applyPatternsGreedily(getOperation(), frozenCleanup);

    // C's tile: read before the K loop, carried in registers, written after
    // (the cleanup then folds a fill's write and read into the initial
    // accumulators); then one accumulator per row.
    auto kLoops = [&] {
      SmallVector<scf::ForOp> loops;
      getOperation().walk([&](scf::ForOp loop) {
        if (!loop.getBody()->getOps<vector::ContractionOp>().empty())
          loops.push_back(loop);
      });
      return loops;
    };
    for (scf::ForOp loop : kLoops())
      hoistLoopInvariantSubsets(rewriter, loop);
    SmallVector<scf::ForOp> rowLoops;
    getOperation().walk([&](scf::ForOp loop) {
      if (loop->removeAttr(kVecMatLoop))
        rowLoops.push_back(loop);
    });
    for (scf::ForOp loop : rowLoops)
      hoistLoopInvariantSubsets(rewriter, loop);
    (void)applyPatternsGreedily(getOperation(), frozenCleanup);
    for (scf::ForOp loop : kLoops())
      splitRows(rewriter, loop);

    // vector.contract → outer products → one FMA per row and vector (the
    // default contraction lowering of convert-vector-to-llvm is dot
    // products).
    RewritePatternSet lowering(ctx);
    vector::populateVectorContractLoweringPatterns(
        lowering, vector::VectorContractLowering::OuterProduct);
    vector::populateVectorOuterProductLoweringPatterns(lowering);
    vector::populateVectorTransposeLoweringPatterns(
        lowering, vector::VectorTransposeLowering::EltWise);
    (void)applyPatternsGreedily(getOperation(), std::move(lowering));
    (void)applyPatternsGreedily(getOperation(), frozenCleanup);
  }

  static void addCanonicalizations(RewritePatternSet &patterns) {
    MLIRContext *ctx = patterns.getContext();
    for (Dialect *dialect : ctx->getLoadedDialects())
      dialect->getCanonicalizationPatterns(patterns);
    for (RegisteredOperationName op : ctx->getRegisteredOperations())
      op.getCanonicalizationPatterns(patterns, ctx);
  }
};

} // namespace
