using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ModelGen.Kernels;

/// <summary>
/// Int8 matrix products with int32 sums, for quantized inference: C[m×n] = A[m×k]·B[k×n], where A holds unsigned 7-bit
/// activations (0 … <see cref="MaxActivation"/>, row-major) and B signed int8 weights in the packed layout of
/// <see cref="Pack"/>. <see cref="Multiply"/> stores the exact int32 sums; <see cref="MultiplyDequantize"/> turns each
/// into a float with the activations' and the weights' scales, adds a bias and applies ReLU as it stores it.
/// </summary>
/// <remarks>
/// <para>
/// <b>The same integers on every path.</b> Each int32 sum takes the products of four consecutive depth steps at a
/// time. With AVX-VNNI, <c>vpdpbusd</c> adds the four u8×s8 products to the int32 lane exactly. Without it,
/// <c>vpmaddubsw</c> first adds pairs of products into int16, saturating, and <c>vpmaddwd</c> against ones adds the
/// two pairs into int32. Activations are therefore held to 7 bits, so that a pair cannot saturate:
/// |a₀·w₀ + a₁·w₁| ≤ 2·127·128 = 32,512 &lt; 32,767 (the full int8 weight range, −128 included, is allowed). No step
/// rounds, and integer addition is associative, so VNNI, AVX-512BW, AVX2, SSSE3 and the scalar loop all give the exact
/// sum Σₚ a[i,p]·b[p,j], whatever their tiling or the thread split: bit for bit the same results. The price is the
/// activations' eighth bit (128 levels instead of 256), the choice PyTorch makes for FBGEMM on x86
/// (<c>reduce_range</c>); the dequantizing epilogue is then the same float arithmetic on the same integers on every
/// path. Activations above <see cref="MaxActivation"/> are rejected rather than silently saturated on some paths.
/// <see cref="MaxDepth"/> keeps every sum, and a sum less its zero point's correction, inside int32.
/// </para>
/// <para>
/// <b>Packed layout of B.</b> Columns are cut into panels of <see cref="PanelWidth"/> (16) and the depth into groups
/// of <see cref="GroupDepth"/> (4), both zero-padded at the end. Panel q (columns 16q … 16q+15) is one contiguous run
/// of 16·k₄ bytes (k₄ = k rounded up to 4); within it, group g (depth steps 4g … 4g+3) is 64 bytes, holding for each
/// column c its four weights side by side: byte 64g + 4c + t is B[4g+t, 16q+c] (<see cref="PackedIndex"/>). One group
/// of a panel is therefore one 512-bit vector, two 256-bit or four 128-bit ones, each int32 lane the four weights of
/// one column: exactly what <c>vpdpbusd</c> and <c>vpmaddubsw</c> multiply by four activations of a row broadcast to
/// every lane. All paths read this one layout.
/// </para>
/// <para>
/// <b>Paths.</b> A micro-kernel of R rows × 2 vectors (R = 6 with 256-bit VNNI, 8 with AVX-512BW, 4 with AVX2 or
/// SSSE3, whose two-instruction products need more registers) keeps its sums in registers over the whole depth and
/// reads A where it lies (four bytes of a row per step, broadcast), the B panel staying in L1 while the row tiles
/// stream past it. Rows below the last whole tile, and so every product of a single row (one sample's
/// <c>Predict</c>: the GEMV case), go through a one-row kernel over four vectors with two sets of sums, so that
/// eight independent chains hide the instructions' latency while B streams through. .NET 10 exposes VNNI only in its
/// VEX form (<see cref="AvxVnni"/>, up to 256 bits; it has no 512-bit <c>vpdpbusd</c>), so a processor with AVX-512
/// VNNI runs the 256-bit VNNI kernel: one instruction per 32 multiply-adds, against three (<c>vpmaddubsw</c>,
/// <c>vpmaddwd</c>, <c>vpaddd</c>) per 64 with AVX-512BW (<c>Int8PathBenchmarks</c> compares the two). Large products
/// are split by columns over the calling thread and the kernel helpers (<see cref="KernelSettings.MaxThreads"/>).
/// </para>
/// </remarks>
[SkipLocalsInit]
public static unsafe partial class Int8Gemm
{
    /// <summary>The largest activation the kernels accept: activations are unsigned 7-bit levels (see remarks).</summary>
    public const int MaxActivation = 127;

    /// <summary>
    /// The deepest product: 65,536 steps. A sum is at most 127·128·65,536 ≈ 1.07·10⁹ in magnitude, and so is a zero
    /// point's correction (at most 127 times a column sum), so their difference stays within int32.
    /// </summary>
    public const int MaxDepth = 1 << 16;

    /// <summary>Columns of B per packed panel (one 512-bit vector of int32 sums).</summary>
    public const int PanelWidth = 16;

    /// <summary>Depth steps per packed group: the four products one int32 lane sums per instruction.</summary>
    public const int GroupDepth = 4;

    /// <summary>Bytes of one group of one panel: <see cref="PanelWidth"/> × <see cref="GroupDepth"/>.</summary>
    private const int GroupBytes = PanelWidth * GroupDepth;

    /// <summary>The most rows a micro-kernel tile has (AVX-512BW's).</summary>
    private const int MaxTileRows = 8;

    /// <summary>The most int32 lanes of a vector (512 bits).</summary>
    private const int MaxLanes = 16;

    /// <summary>Vectors the one-row kernel computes at once.</summary>
    private const int RowVectors = 4;

    /// <summary>The bytes a B of <paramref name="k"/> × <paramref name="n"/> takes packed: k and n rounded up to a group and a panel.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A size is negative.</exception>
    public static int PackedLength(int k, int n)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(k);
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        return checked(PaddedDepth(k) * PaddedWidth(n));
    }

    /// <summary>Where B[<paramref name="row"/>, <paramref name="column"/>] of a B <paramref name="k"/> deep lies in its packed form (see remarks).</summary>
    public static int PackedIndex(int k, int row, int column) =>
        (column / PanelWidth * PaddedDepth(k) * PanelWidth) + (row / GroupDepth * GroupBytes) + (column % PanelWidth * GroupDepth) + (row % GroupDepth);

    /// <summary>
    /// Packs a row-major B [k×n] into the layout the kernels read (padding zeroed) and writes its column sums, which
    /// <see cref="MultiplyDequantize"/> needs for the activations' zero points.
    /// </summary>
    /// <exception cref="ArgumentException">A span's length does not match the shape.</exception>
    public static void Pack(ReadOnlySpan<sbyte> b, int k, int n, Span<sbyte> packed, Span<int> columnSums)
    {
        var length = PackedLength(k, n);
        if (b.Length != (long)k * n || packed.Length != length || columnSums.Length != n)
        {
            throw new ArgumentException(
                $"For k={k}, n={n}: b holds {b.Length} values (expected {(long)k * n}), packed {packed.Length} (expected {length}), columnSums {columnSums.Length} (expected {n}).");
        }

        packed.Clear();
        columnSums.Clear();
        // PackedIndex with the parts that depend on the row alone hoisted: row p's bytes lie GroupDepth apart within a
        // panel, one panel (PaddedDepth(k)·PanelWidth bytes) further for every PanelWidth columns.
        var panelStride = PaddedDepth(k) * PanelWidth;
        for (var p = 0; p < k; p++)
        {
            var row = b.Slice(p * n, n);
            var rowStart = (p / GroupDepth * GroupBytes) + (p % GroupDepth);
            for (var panel = 0; panel * PanelWidth < n; panel++)
            {
                var columns = row.Slice(panel * PanelWidth, Math.Min(PanelWidth, n - (panel * PanelWidth)));
                var target = packed.Slice((panel * panelStride) + rowStart);
                for (var c = 0; c < columns.Length; c++)
                {
                    target[c * GroupDepth] = columns[c];
                }
            }

            for (var j = 0; j < n; j++)
            {
                columnSums[j] += row[j];
            }
        }
    }

    /// <summary>
    /// c = a·b in int32, exactly: a [m×k] row-major activations of at most <see cref="MaxActivation"/>, b [k×n]
    /// packed by <see cref="Pack"/>, c [m×n] row-major.
    /// </summary>
    /// <exception cref="ArgumentException">A span's length does not match the shape, or an activation exceeds <see cref="MaxActivation"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A size is negative, or k exceeds <see cref="MaxDepth"/>.</exception>
    public static void Multiply(ReadOnlySpan<byte> a, ReadOnlySpan<sbyte> packedB, Span<int> c, int m, int n, int k) =>
        MultiplyWith(BestPath, a, packedB, c, m, n, k);

    /// <summary>
    /// The product dequantized as it is stored: c[i,j] = act((float)(Σₚ a[i,p]·b[p,j] − zᵢ·Σₚ b[p,j]) · (sᵢ·s′ⱼ) + bias[j]),
    /// where sᵢ and zᵢ are row i's activation scale and zero point, s′ⱼ column j's weight scale and Σₚ b[p,j] its
    /// column sum, all from <paramref name="dequantization"/>. The integer part is exact; the float operations are
    /// one conversion, two products and one sum, unfused, so every path stores the same bits.
    /// </summary>
    /// <exception cref="ArgumentException">A span's length does not match the shape, an activation exceeds <see cref="MaxActivation"/>, or a zero point lies outside 0 … <see cref="MaxActivation"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A size is negative, k exceeds <see cref="MaxDepth"/>, or the activation is unknown.</exception>
    public static void MultiplyDequantize(ReadOnlySpan<byte> a, ReadOnlySpan<sbyte> packedB, Span<float> c, int m, int n, int k, Int8Dequantization dequantization) =>
        MultiplyDequantizeWith(BestPath, a, packedB, c, m, n, k, dequantization);

    /// <summary>The fastest path the processor has, decided once (see remarks).</summary>
    internal static Int8Path BestPath { get; } =
        IsAccelerated(Int8Path.Vnni) ? Int8Path.Vnni :
        IsAccelerated(Int8Path.Avx512) ? Int8Path.Avx512 :
        IsAccelerated(Int8Path.Avx2) ? Int8Path.Avx2 :
        IsAccelerated(Int8Path.Ssse3) ? Int8Path.Ssse3 : Int8Path.Scalar;

    [ThreadStatic]
    private static Int8Path _lastPath;

    /// <summary>The path the last product on this thread ran (the tests check it against the instruction sets a run enables).</summary>
    internal static Int8Path LastPath => _lastPath;

    /// <summary>Whether this process can run <paramref name="path"/>.</summary>
    internal static bool IsAccelerated(Int8Path path) => path switch
    {
        Int8Path.Vnni => AvxVnni.IsSupported,
        Int8Path.Avx512 => Avx512BW.IsSupported && Vector512.IsHardwareAccelerated,
        Int8Path.Avx2 => Avx2.IsSupported,
        Int8Path.Ssse3 => Ssse3.IsSupported,
        _ => true,
    };

    /// <summary><see cref="Multiply"/> through a chosen path (tests and benchmarks); it must be accelerated.</summary>
    internal static void MultiplyWith(Int8Path path, ReadOnlySpan<byte> a, ReadOnlySpan<sbyte> packedB, Span<int> c, int m, int n, int k)
    {
        CheckShapes(a, packedB.Length, c.Length, m, n, k);
        fixed (byte* pa = a)
        fixed (sbyte* pb = packedB)
        fixed (int* pc = c)
        {
            var problem = new Problem { A = pa, B = pb, C = pc, M = m, N = n, K = k, PanelStride = (long)PaddedDepth(k) * PanelWidth };
            Run(path, &problem);
        }
    }

    /// <summary><see cref="MultiplyDequantize"/> through a chosen path (tests and benchmarks); it must be accelerated.</summary>
    internal static void MultiplyDequantizeWith(Int8Path path, ReadOnlySpan<byte> a, ReadOnlySpan<sbyte> packedB, Span<float> c, int m, int n, int k, Int8Dequantization dequantization)
    {
        CheckShapes(a, packedB.Length, c.Length, m, n, k);
        dequantization.Check(m, n);
        fixed (byte* pa = a)
        fixed (sbyte* pb = packedB)
        fixed (float* pc = c, rowScales = dequantization.RowScales, columnScales = dequantization.ColumnScales, bias = dequantization.Bias)
        fixed (int* zeroPoints = dequantization.RowZeroPoints, columnSums = dequantization.ColumnSums)
        {
            var problem = new Problem
            {
                A = pa,
                B = pb,
                Output = pc,
                M = m,
                N = n,
                K = k,
                PanelStride = (long)PaddedDepth(k) * PanelWidth,
                RowScales = rowScales,
                RowScaleStep = dequantization.RowScales.Length == m ? 1 : 0,
                RowZeroPoints = zeroPoints,
                RowZeroPointStep = dequantization.RowZeroPoints.Length == m ? 1 : 0,
                ColumnScales = columnScales,
                ColumnSums = columnSums,
                Bias = dequantization.Bias.IsEmpty ? null : bias,
                Relu = dequantization.Activation == GemmActivation.Relu,
            };
            Run(path, &problem);
        }
    }

    /// <summary>k rounded up to whole groups.</summary>
    private static int PaddedDepth(int k) => (k + GroupDepth - 1) / GroupDepth * GroupDepth;

    /// <summary>n rounded up to whole panels.</summary>
    private static int PaddedWidth(int n) => (n + PanelWidth - 1) / PanelWidth * PanelWidth;

    private static void CheckShapes(ReadOnlySpan<byte> a, int packedLength, int cLength, int m, int n, int k)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(m);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(k, MaxDepth);
        var packedExpected = PackedLength(k, n);
        long aExpected = (long)m * k, cExpected = (long)m * n;
        if (a.Length != aExpected || packedLength != packedExpected || cLength != cExpected)
        {
            throw new ArgumentException(
                $"Matrix shapes disagree with m={m}, n={n}, k={k}: a holds {a.Length} bytes (expected {aExpected}), packed b {packedLength} (expected {packedExpected}), c {cLength} (expected {cExpected}).");
        }

        var above = a.IndexOfAnyInRange((byte)(MaxActivation + 1), byte.MaxValue);
        if (above >= 0)
        {
            throw new ArgumentException(
                $"Activation {a[above]} at index {above} exceeds {MaxActivation}: the int8 kernels take 7-bit activations, so that no path saturates.", nameof(a));
        }
    }

    private static void Run(Int8Path path, Problem* problem)
    {
        if (!IsAccelerated(path))
        {
            throw new ArgumentOutOfRangeException(nameof(path), path, "The processor does not have this path.");
        }

        _lastPath = path;
        if (problem->M == 0 || problem->N == 0)
        {
            return;
        }

        // An int8 multiply-add costs about a quarter of a float one (VNNI sums four per lane and instruction), so the
        // product is counted as a quarter of its multiply-adds against the float kernels' threshold for splitting.
        var work = (long)problem->M * problem->N * problem->K / 4;
        var width = PaddedWidth(problem->N);
        switch (path)
        {
            case Int8Path.Vnni:
                WorkSplitter.Run(&Part<Vector256<int>, VnniDot>, problem, width / VnniDot.Lanes, grain: 2, work, reduction: problem->K);
                break;
            case Int8Path.Avx512:
                WorkSplitter.Run(&Part<Vector512<int>, Avx512Dot>, problem, width / Avx512Dot.Lanes, grain: 2, work, reduction: problem->K);
                break;
            case Int8Path.Avx2:
                WorkSplitter.Run(&Part<Vector256<int>, Avx2Dot>, problem, width / Avx2Dot.Lanes, grain: 2, work, reduction: problem->K);
                break;
            case Int8Path.Ssse3:
                WorkSplitter.Run(&Part<Vector128<int>, Ssse3Dot>, problem, width / Ssse3Dot.Lanes, grain: 2, work, reduction: problem->K);
                break;
            default:
                WorkSplitter.Run(&ScalarPart, problem, width / PanelWidth, grain: 1, work, reduction: problem->K);
                break;
        }
    }

    /// <summary>
    /// Column vectors [<paramref name="from"/>, <paramref name="to"/>) of the product (each <c>TDot.Lanes</c> columns,
    /// counted over the padded width): whole row tiles first, each tile two vectors wide, then the rows left below the
    /// last whole tile one at a time, four vectors at once.
    /// </summary>
    /// <remarks>Compiled fully optimized on first use, as the float kernels are (see <see cref="Gemm"/>).</remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Part<TVector, TDot>(void* context, int from, int to)
        where TVector : struct
        where TDot : IInt8Dot<TVector>
    {
        var x = (Problem*)context;
        var lanes = TDot.Lanes;
        var rows = TDot.TileRows;
        var sums = stackalloc int[MaxTileRows * 2 * MaxLanes];
        var tails = stackalloc byte[MaxTileRows * GroupDepth];
        var groups = x->K / GroupDepth;
        var tail = x->K % GroupDepth;
        var tileRows = x->M - (x->M % rows);

        for (var u = from; u < to; u += 2)
        {
            var count = Math.Min(2, to - u);
            var b0 = VectorOrigin(x, u, lanes);
            var b1 = count == 2 ? VectorOrigin(x, u + 1, lanes) : b0;
            for (var i = 0; i < tileRows; i += rows)
            {
                var a = x->A + ((long)i * x->K);
                CopyTails(a, x->K, rows, tail, tails);
                Tile<TVector, TDot>(groups, tail != 0, a, x->K, tails, b0, b1, sums);
                Finish(x, sums, 2 * lanes, i, rows, u * lanes, count * lanes);
            }
        }

        for (var i = tileRows; i < x->M; i++)
        {
            var a = x->A + ((long)i * x->K);
            CopyTails(a, x->K, 1, tail, tails);
            for (var u = from; u < to; u += RowVectors)
            {
                // Vectors past the part's end (or the matrix's) are computed from the first one's weights and dropped.
                var count = Math.Min(RowVectors, to - u);
                var b0 = VectorOrigin(x, u, lanes);
                var b1 = count > 1 ? VectorOrigin(x, u + 1, lanes) : b0;
                var b2 = count > 2 ? VectorOrigin(x, u + 2, lanes) : b0;
                var b3 = count > 3 ? VectorOrigin(x, u + 3, lanes) : b0;
                Row<TVector, TDot>(groups, tail != 0, a, tails, b0, b1, b2, b3, sums);
                Finish(x, sums, RowVectors * lanes, i, 1, u * lanes, count * lanes);
            }
        }
    }

    /// <summary>Where column vector <paramref name="u"/> of <paramref name="lanes"/> columns starts in the packed B: its panel, then its columns' place in each group.</summary>
    private static sbyte* VectorOrigin(Problem* x, int u, int lanes)
    {
        var column = u * lanes;
        return x->B + (column / PanelWidth * x->PanelStride) + (column % PanelWidth * GroupDepth);
    }

    /// <summary>
    /// The last, partial group of <paramref name="rows"/> rows of A (the <paramref name="tail"/> &lt; 4 steps past the
    /// whole groups), zero-padded to four bytes a row: read in place, the last row's would run past the matrix.
    /// </summary>
    private static void CopyTails(byte* a, int k, int rows, int tail, byte* tails)
    {
        if (tail == 0)
        {
            return;
        }

        for (var r = 0; r < rows; r++)
        {
            var source = a + ((long)r * k) + (k - tail);
            var destination = tails + (r * GroupDepth);
            for (var t = 0; t < GroupDepth; t++)
            {
                destination[t] = t < tail ? source[t] : (byte)0;
            }
        }
    }

    /// <summary>
    /// Stores <paramref name="rows"/> rows of sums (<paramref name="stride"/> apart) to C at (<paramref name="row"/>,
    /// <paramref name="column"/>): the columns inside the matrix, as int32 or dequantized.
    /// </summary>
    private static void Finish(Problem* x, int* sums, int stride, int row, int rows, int column, int columns)
    {
        columns = Math.Min(columns, x->N - column);
        if (columns <= 0)
        {
            return;
        }

        for (var r = 0; r < rows; r++)
        {
            var source = sums + (r * stride);
            var offset = ((long)(row + r) * x->N) + column;
            if (x->Output == null)
            {
                new ReadOnlySpan<int>(source, columns).CopyTo(new Span<int>(x->C + offset, columns));
            }
            else
            {
                DequantizeRow(x, source, x->Output + offset, row + r, column, columns);
            }
        }
    }

    /// <summary>
    /// One row's sums as floats: act((float)(sum − z·columnSum) · (s·columnScale) + bias), in vectors where the
    /// processor has them and one by one after; each element goes through the same operations either way.
    /// </summary>
    private static void DequantizeRow(Problem* x, int* sums, float* destination, int row, int column, int count)
    {
        var rowScale = x->RowScales[row * x->RowScaleStep];
        var zeroPoint = x->RowZeroPoints[row * x->RowZeroPointStep];
        var scales = x->ColumnScales + column;
        var columnSums = x->ColumnSums + column;
        var bias = x->Bias == null ? null : x->Bias + column;
        var j = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var (rowScales, zeroPoints) = (Vector256.Create(rowScale), Vector256.Create(zeroPoint));
            for (; j + Vector256<int>.Count <= count; j += Vector256<int>.Count)
            {
                var corrected = Vector256.Load(sums + j) - (zeroPoints * Vector256.Load(columnSums + j));
                var value = Vector256.ConvertToSingle(corrected) * (rowScales * Vector256.Load(scales + j));
                value = bias == null ? value : value + Vector256.Load(bias + j);
                (x->Relu ? Vector256.Max(value, Vector256<float>.Zero) : value).Store(destination + j);
            }
        }

        if (Vector128.IsHardwareAccelerated)
        {
            var (rowScales, zeroPoints) = (Vector128.Create(rowScale), Vector128.Create(zeroPoint));
            for (; j + Vector128<int>.Count <= count; j += Vector128<int>.Count)
            {
                var corrected = Vector128.Load(sums + j) - (zeroPoints * Vector128.Load(columnSums + j));
                var value = Vector128.ConvertToSingle(corrected) * (rowScales * Vector128.Load(scales + j));
                value = bias == null ? value : value + Vector128.Load(bias + j);
                (x->Relu ? Vector128.Max(value, Vector128<float>.Zero) : value).Store(destination + j);
            }
        }

        for (; j < count; j++)
        {
            var value = (float)(sums[j] - (zeroPoint * columnSums[j])) * (rowScale * scales[j]);
            value = bias == null ? value : value + bias[j];
            destination[j] = x->Relu ? Math.Max(value, 0f) : value;
        }
    }

    /// <summary>What one product reads and writes: pinned pointers, shapes and the dequantizing epilogue.</summary>
    private struct Problem
    {
        public byte* A;
        public sbyte* B;

        /// <summary>Where int32 sums go (<see cref="Multiply"/>), or null when they are dequantized into <see cref="Output"/>.</summary>
        public int* C;

        /// <summary>Where dequantized floats go, or null.</summary>
        public float* Output;
        public int M;
        public int N;
        public int K;

        /// <summary>Bytes from one packed panel to the next.</summary>
        public long PanelStride;
        public float* RowScales;

        /// <summary>1 when each row has its scale, 0 when one scale serves every row.</summary>
        public int RowScaleStep;
        public int* RowZeroPoints;

        /// <summary>1 when each row has its zero point, 0 when one serves every row.</summary>
        public int RowZeroPointStep;
        public float* ColumnScales;
        public int* ColumnSums;
        public float* Bias;
        public bool Relu;
    }
}
