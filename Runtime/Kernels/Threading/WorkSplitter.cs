using System;
using System.Runtime.ExceptionServices;
using System.Threading;

namespace ModelGen.Kernels;

/// <summary>
/// Splits a kernel's independent work (columns or rows of a matrix product, ranges of an optimizer update, the samples
/// of a per-sample pass, the parts of a reduction) between the calling thread and up to
/// <see cref="KernelSettings.MaxThreads"/> − 1 helper threads, without allocating once its helpers exist. Either each
/// output element is computed by exactly the same instructions whichever thread runs it and wherever the parts are cut
/// (products, element-wise passes), or the parts are fixed by the data's shape and their results combined in part order
/// (reductions): results are bit-for-bit those of a single thread, for every thread count. Small work, a single thread,
/// or a pool already busy with another caller keep everything on the calling thread.
/// </summary>
/// <remarks>
/// The body is a static function pointer and its arguments a struct on the caller's stack: the caller does not return
/// before every part it handed out has finished, so the struct (and the spans it points into, pinned by the caller)
/// stay valid. The caller takes parts from the front, the helpers from the back, one part at a time, until none is
/// left: a thread that is slow (its core taken by another process, or its wake-up late) holds the call up by at most
/// the part it is running.
/// </remarks>
internal static unsafe partial class WorkSplitter
{
    /// <summary>
    /// Multiply-adds below which splitting costs more than it saves: waking the helpers takes microseconds, and this
    /// much work takes several.
    /// </summary>
    public const long MinParallelWork = 1L << 20;

    /// <summary>
    /// Products with a shorter reduction (k) stay on one thread: each element of c then gets few multiply-adds per
    /// load and store, the product is bound by memory traffic that a second core shares rather than adds to
    /// (measured: ∂W of a 784→128 layer at batch 32, k = 32, ran 0.9× as fast on two threads; see docs/performance.md).
    /// </summary>
    public const int MinParallelReduction = 64;

    /// <summary>
    /// Outputs from which a product with a short reduction is split all the same: then it is bound by writing its
    /// outputs, which each core does into its own cache (a convolution's window gradient dz·Wᵀ, [positions·samples ×
    /// kernel²·channels] from a reduction over as few as 16 filters, ran on one thread while the other waited).
    /// </summary>
    public const long MinParallelOutputs = 1L << 16;

    /// <summary>
    /// Values moved below which <see cref="RunIndependent"/> stays on the calling thread: 32 Ki floats take about
    /// 15–55 µs to move here (0.4–1.7 ns a value in the Fashion CNN's two im2col passes), several times what handing part
    /// of them to a helper costs (1.3–2 µs, docs/performance.md).
    /// </summary>
    public const int MinParallelValues = 1 << 15;

    /// <summary>
    /// Parts a reduction is cut into at most (batch normalization's statistics, a direct convolution's weight gradient):
    /// the cut is fixed by the data's shape with this many parts whatever the thread count, and the parts' partial
    /// results are added in part order, so the sums do not depend on which thread computed which part. It also bounds
    /// how many threads one reduction can use.
    /// </summary>
    public const int ReductionParts = 8;

    /// <summary>
    /// Parts per thread of a streaming kernel (an optimizer's update, a gather of rows, a per-sample pass): a part costs
    /// such kernels nothing, and with four per thread a slow thread holds the others up by a quarter of its share at most.
    /// </summary>
    private const int StreamPartsPerThread = 4;

    /// <summary>
    /// Parts per thread of a matrix product split over three threads or more. Each part packs the operand it shares
    /// with the others (all of A for a column part, all of B for a row part), so parts are few; two per thread let the
    /// threads balance one slowed by the machine.
    /// </summary>
    private const int ProductPartsPerThread = 2;

    /// <summary>The most parts one call is cut into (the claim keeps a part index in 16 bits).</summary>
    private const int MaxPartCount = (1 << 16) - 1;

    // Created on the first split, so processes that never split never start a thread.
    private static readonly Lazy<Pool> SharedPool = new(static () => new Pool());
    private static int _busy;
    private static int _maxThreads = ReadMaxThreads();
    private static long _partsRunByHelpers;

    /// <summary>Parts the helper threads have run since the process started (the tests check that the helpers took part).</summary>
    internal static long PartsRunByHelpers => Interlocked.Read(ref _partsRunByHelpers);

    /// <summary>
    /// Threads a large kernel may use, the caller included: any positive number (more than the processors is allowed,
    /// and only slower). Starts from <c>MODELGEN_THREADS</c>, else one per processor.
    /// </summary>
    public static int MaxThreads
    {
        get => Volatile.Read(ref _maxThreads);
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(value);
            Volatile.Write(ref _maxThreads, value);
        }
    }

    /// <summary>
    /// Parts a streaming kernel is cut into for the current thread count: four per thread, and never fewer than
    /// <see cref="ReductionParts"/> (eight on two threads).
    /// </summary>
    public static int StreamParts => (int)Math.Clamp((long)StreamPartsPerThread * MaxThreads, ReductionParts, MaxPartCount);

    /// <summary>
    /// Whether products on two threads are cut in two where the threads' recent finishing times say (the default)
    /// rather than in <see cref="ProductPartsPerThread"/> parts per thread as on more threads; the benchmarks switch it
    /// off to measure what it gains.
    /// </summary>
    internal static bool AdaptiveSplit { get; set; } = true;

    /// <summary>The helper's share of a two-thread product of the size used last; the tests set every size's (kept within 0.1-0.9).</summary>
    internal static double HelperShare
    {
        get => SharedPool.Value.Share;
        set => SharedPool.Value.Share = value;
    }

    /// <summary>Whether <see cref="Run"/> with these arguments splits the work, if the pool is free.</summary>
    private static bool WouldSplit(int count, int grain, long work, int reduction) =>
        work >= MinParallelWork && (reduction >= MinParallelReduction || work / Math.Max(reduction, 1) >= MinParallelOutputs)
        && count >= 2 * grain && MaxThreads >= 2;

    /// <summary>
    /// Runs <paramref name="body"/> over [0, <paramref name="count"/>) in parts of whole <paramref name="grain"/>s (the
    /// last part takes the remainder), when the work (multiply-adds) is large enough and each output element sums at
    /// least <see cref="MinParallelReduction"/> products (or there are many outputs); else in one call.
    /// <paramref name="parts"/> is the number of parts (at most one per grain), or 0 for a matrix product's split: on two
    /// threads two parts cut where the threads' finishing times say (<see cref="AdaptiveSplit"/>), on more (or with the
    /// adaptive cut off) <see cref="ProductPartsPerThread"/> per thread. Where the parts are cut never changes a bit of a
    /// product (each element is computed whole, by the same instructions, in one part); callers whose parts' results
    /// are combined pass a part count fixed by the shape.
    /// </summary>
    public static void Run(delegate*<void*, int, int, void> body, void* context, int count, int grain, long work, int reduction, int parts = 0)
    {
        if (!WouldSplit(count, grain, work, reduction))
        {
            body(context, 0, count);
            return;
        }

        var threads = MaxThreads;
        var adaptive = parts == 0 && threads == 2 && AdaptiveSplit;
        if (parts == 0)
        {
            parts = adaptive ? 2 : (int)Math.Min((long)threads * ProductPartsPerThread, MaxPartCount);
        }

        parts = Math.Clamp(Math.Min(parts, count / grain), 2, MaxPartCount);
        var helpers = Math.Min(threads, parts) - 1;
        if (Interlocked.CompareExchange(ref _busy, 1, 0) != 0)
        {
            body(context, 0, count);
            return;
        }

        Exception? helperError;
        var pool = SharedPool.Value;
        try
        {
            pool.EnsureHelpers(helpers);
            var call = pool.Start(body, context, count, grain, parts, helpers, adaptive, work);
            try
            {
                // The helpers join as they wake; if they are asleep, or their cores taken by other processes, this
                // thread takes every part itself and never waits for them to start.
                pool.RunParts(call);
            }
            finally
            {
                helperError = pool.Finish(call);
            }
        }
        finally
        {
            Volatile.Write(ref _busy, 0);
        }

        if (helperError is not null)
        {
            ExceptionDispatchInfo.Throw(helperError);
        }
    }

    /// <summary>
    /// Runs <paramref name="body"/> over [0, <paramref name="count"/>) — the samples of a per-sample pass, or the parts of
    /// a reduction fixed by its data's shape — split over the kernel threads, a part at a time, when it moves at least
    /// <see cref="MinParallelValues"/> values. Each index is computed whole by one thread, so the result is the same
    /// whichever thread computes it.
    /// </summary>
    public static void RunIndependent(delegate*<void*, int, int, void> body, void* context, int count, long values)
    {
        if (values < MinParallelValues || count < 2)
        {
            body(context, 0, count);
            return;
        }

        Run(body, context, count, grain: 1, MinParallelWork, reduction: int.MaxValue, parts: Math.Min(count, StreamParts));
    }

    private static int ReadMaxThreads() => ParseMaxThreads(Environment.GetEnvironmentVariable("MODELGEN_THREADS"));

    /// <summary>
    /// The thread setting from its text: the positive number given; the default (<see cref="DefaultThreads"/>) when the
    /// text is missing or not a positive number.
    /// </summary>
    internal static int ParseMaxThreads(string? setting) =>
        int.TryParse(setting, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var threads) && threads >= 1
            ? threads
            : DefaultThreads;

    /// <summary>One thread per processor.</summary>
    internal static int DefaultThreads => Environment.ProcessorCount;
}
