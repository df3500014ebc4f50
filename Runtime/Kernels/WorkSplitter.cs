using System;
using System.Diagnostics;
using System.Runtime.ExceptionServices;
using System.Threading;

namespace ModelGen.Kernels;

/// <summary>
/// Splits a kernel's independent work (columns or rows of a matrix product, ranges of an optimizer update) between
/// the calling thread and one helper thread, without allocating. Each output element is computed by exactly the same
/// instructions whichever thread runs it, so results are bit-for-bit those of a single thread. On when
/// <see cref="KernelSettings.MaxThreads"/> is 2, the default on machines with two or more cores; small work, a single
/// core or a helper already busy with another caller keep everything on the calling thread even then.
/// </summary>
/// <remarks>
/// The body is a static function pointer and its arguments a struct on the caller's stack: the caller does not
/// return before the helper has finished, so the struct (and the spans it points into, pinned by the caller) stay valid.
/// </remarks>
internal static unsafe class WorkSplitter
{
    /// <summary>
    /// Multiply-adds below which splitting costs more than it saves: waking the helper takes microseconds, and this
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

    // Created on the first split, so processes that never split (the default) never start the thread.
    private static readonly Lazy<Helper> SharedHelper = new(static () => new Helper());
    private static int _busy;
    private static int _maxThreads = ReadMaxThreads();

    /// <summary>Threads a large kernel may use: 1 or 2. Starts from <c>MODELGEN_THREADS</c>, else one per processor (up to 2).</summary>
    public static int MaxThreads
    {
        get => Volatile.Read(ref _maxThreads);
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(value);
            Volatile.Write(ref _maxThreads, Math.Min(value, 2));
        }
    }

    /// <summary>Threads a large kernel runs on now: 2 when allowed and there are two cores, else 1.</summary>
    public static int ThreadCount => MaxThreads >= 2 && Environment.ProcessorCount >= 2 ? 2 : 1;

    /// <summary>
    /// Most parts a split run is cut into. Both threads take parts one at a time until none is left, so a thread slowed
    /// by the machine (its core taken by another process, or its wake-up late) holds up the call by at most one part
    /// instead of by half of it. Streaming kernels (an optimizer's update) use this many: a part costs them nothing.
    /// Matrix products use two, because each part packs the operand it reads whole again (docs/performance.md), and
    /// balance the two through where the cut falls instead (<see cref="AdaptiveSplit"/>).
    /// </summary>
    public const int MaxParts = 8;

    /// <summary>
    /// Whether calls in two parts are cut where the threads' recent finishing times say (the default) rather than in
    /// halves; the benchmarks switch it off to measure what it gains.
    /// </summary>
    internal static bool AdaptiveSplit { get; set; } = true;

    /// <summary>The helper's share of a call in two parts of the size used last; the tests set every size's (kept within 0.1-0.9).</summary>
    internal static double HelperShare
    {
        get => SharedHelper.Value.Share;
        set => SharedHelper.Value.Share = value;
    }

    /// <summary>Whether <see cref="Run"/> with these arguments splits the work, if the helper is free.</summary>
    private static bool WouldSplit(int count, int grain, long work, int reduction) =>
        work >= MinParallelWork && (reduction >= MinParallelReduction || work / Math.Max(reduction, 1) >= MinParallelOutputs) && count >= 2 * grain && ThreadCount >= 2;

    /// <summary>
    /// Runs <paramref name="body"/> over [0, <paramref name="count"/>): in up to <paramref name="parts"/> parts (at most
    /// <see cref="MaxParts"/>), each a multiple of <paramref name="grain"/> long except the last, which the calling
    /// thread takes from the front and the helper from the back, when the work (multiply-adds) is large enough and each
    /// output element sums at least <see cref="MinParallelReduction"/> products; else in one call.
    /// </summary>
    public static void Run(delegate*<void*, int, int, void> body, void* context, int count, int grain, long work, int reduction, int parts = 2)
    {
        if (!WouldSplit(count, grain, work, reduction) || Interlocked.CompareExchange(ref _busy, 1, 0) != 0)
        {
            body(context, 0, count);
            return;
        }

        Exception? helperError = null;
        var helper = SharedHelper.Value;
        var request = helper.Start(body, context, count, grain, Math.Clamp(Math.Min(parts, count / grain), 2, MaxParts), work);
        try
        {
            // The helper joins when it wakes; if it is asleep, or its core is taken by another process, this thread
            // takes every part itself and never waits for it to start.
            helper.RunParts(request);
        }
        finally
        {
            helperError = helper.Finish(request);
            Volatile.Write(ref _busy, 0);
        }

        if (helperError is not null)
        {
            ExceptionDispatchInfo.Throw(helperError);
        }
    }

    /// <summary>
    /// Values moved below which <see cref="RunIndependent"/> stays on the calling thread: 32 Ki floats take about
    /// 15–55 µs to move here (0.4–1.7 ns a value in the Fashion CNN's two im2col passes), several times what handing half
    /// of them to the helper costs (1.3–2 µs, docs/performance.md).
    /// </summary>
    public const int MinParallelValues = 1 << 15;

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

        Run(body, context, count, grain: 1, MinParallelWork, reduction: int.MaxValue, parts: Math.Min(count, MaxParts));
    }

    private static int ReadMaxThreads() => ParseMaxThreads(Environment.GetEnvironmentVariable("MODELGEN_THREADS"));

    /// <summary>
    /// The thread setting from its text: the number given, capped at 2; the default (<see cref="DefaultThreads"/>)
    /// when the text is missing or not a positive number.
    /// </summary>
    internal static int ParseMaxThreads(string? setting) =>
        int.TryParse(setting, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var threads) && threads >= 1
            ? Math.Min(threads, 2)
            : DefaultThreads;

    /// <summary>One per processor, up to the two this splitter can use (the caller and one helper).</summary>
    internal static int DefaultThreads => Math.Min(Environment.ProcessorCount, 2);

    /// <summary>
    /// A background thread that takes parts of one kernel call at a time alongside the caller. Signalling uses one
    /// monitor, a flag and two counters rather than events: nothing here allocates after construction (an event's
    /// lazily created lock would, the first time a caller had to block).
    /// </summary>
    private sealed class Helper
    {
        /// <summary>Spins before sleeping: most parts finish within microseconds of each other.</summary>
        private const int SpinIterations = 2_000;

        /// <summary>How long the helper spins for its next call before it sleeps: 200 µs, in TimeSpan ticks.</summary>
        private const long IdleSpinTicks = 2_000;

        /// <summary>Bits of each of the two part indices in <see cref="_claim"/>; the call's number is above them.</summary>
        private const int IndexBits = 16;

        private const long IndexMask = (1L << IndexBits) - 1;

        /// <summary>The bits of a call's number <see cref="_claim"/> keeps (calls 2³¹ apart are never both live).</summary>
        private const long SequenceMask = (1L << 31) - 1;

        private readonly object _gate = new();
        private delegate*<void*, int, int, void> _body;
        private void* _context;
        private int _count;
        private int _grain;
        private int _parts;
        private Exception? _error;
        private volatile bool _started;

        /// <summary>The number of the call started last (under the gate).</summary>
        private long _sequence;

        /// <summary>
        /// The call's number, then the first part not taken from the front, then the end of the parts not taken from
        /// the back (<see cref="IndexBits"/> each). Parts are taken by compare-and-swap, so each runs exactly once, and
        /// a helper that wakes late cannot take a part of a call that has already returned: the number no longer matches.
        /// </summary>
        private long _claim;

        /// <summary>Parts of the current call not yet finished (or never to be started, once the call is closed).</summary>
        private int _unfinished;

        /// <summary>Where a call in two parts is cut: the helper takes [_splitAt, count).</summary>
        private int _splitAt;

        /// <summary>
        /// The share of a two-part call given to the helper, one per size of call (by the binary logarithm of its work),
        /// each moved after every call of its size towards where both threads would have finished together. The two
        /// vCPUs of a shared machine often do not run at the same speed (measured here: the same product 1.3-1.9×
        /// slower on one vCPU than on the other in some runs), and halves then wait on the slower one. Sizes are kept
        /// apart because the helper's wake-up weighs more in a short call than in a long one.
        /// </summary>
        private readonly double[] _helperShares = CreateShares();

        /// <summary>The size class of the current call: an index into <see cref="_helperShares"/>.</summary>
        private int _sizeClass;

        private static double[] CreateShares()
        {
            var shares = new double[64];
            Array.Fill(shares, 0.5);
            return shares;
        }

        /// <summary>The share of the size last used; setting it sets every size's (the tests hold the cut where they put it).</summary>
        public double Share
        {
            get => Volatile.Read(ref _helperShares[_sizeClass]);
            set => Array.Fill(_helperShares, Math.Clamp(value, MinHelperShare, 1 - MinHelperShare));
        }

        // When the current call started, when each thread finished its last part in it, and how many parts each ran
        // (each written by its own thread; read by the caller once every part is finished).
        private long _startTicks, _callerDone, _helperDone;
        private int _callerParts, _helperParts;

        public Helper()
        {
            var thread = new Thread(Loop) { IsBackground = true, Name = "ModelGen kernel helper" };
            thread.Start();
        }

        /// <summary>Publishes a call of <paramref name="parts"/> parts; returns its number.</summary>
        public long Start(delegate*<void*, int, int, void> body, void* context, int count, int grain, int parts, long work)
        {
            lock (_gate)
            {
                _body = body;
                _context = context;
                _count = count;
                _grain = grain;
                _parts = parts;
                _sizeClass = 63 - System.Numerics.BitOperations.LeadingZeroCount((ulong)Math.Max(work, 1));
                _splitAt = SplitPoint(count, grain);
                (_callerParts, _helperParts) = (0, 0);
                _startTicks = Stopwatch.GetTimestamp();
                _error = null;
                Volatile.Write(ref _unfinished, parts);
                var sequence = ++_sequence;
                Volatile.Write(ref _claim, ((sequence & SequenceMask) << (2 * IndexBits)) + parts);
                _started = true;
                Monitor.PulseAll(_gate);
                return sequence;
            }
        }

        /// <summary>Takes and runs parts of call <paramref name="sequence"/> until none is left.</summary>
        public void RunParts(long sequence)
        {
            while (TryTake(sequence, fromBack: false, out var part))
            {
                var (from, to) = Bounds(part);
                try
                {
                    _body(_context, from, to);
                }
                finally
                {
                    (_callerDone, _callerParts) = (Stopwatch.GetTimestamp(), _callerParts + 1);
                    PartFinished();
                }
            }
        }

        /// <summary>
        /// Closes call <paramref name="sequence"/> to new parts (those never started count as finished), waits for the
        /// parts the helper is running, and returns what the helper threw, if anything.
        /// </summary>
        public Exception? Finish(long sequence)
        {
            var last = Interlocked.Exchange(ref _claim, (sequence & SequenceMask) << (2 * IndexBits));
            var untaken = Math.Max(0, (int)(last & IndexMask) - (int)((last >> IndexBits) & IndexMask));
            if (untaken == 0 || Interlocked.Add(ref _unfinished, -untaken) != 0)
            {
                for (var i = 0; i < SpinIterations && Volatile.Read(ref _unfinished) != 0; i++)
                {
                    Thread.SpinWait(8);
                }

                lock (_gate)
                {
                    while (Volatile.Read(ref _unfinished) != 0)
                    {
                        Monitor.Wait(_gate);
                    }
                }
            }

            if (AdaptiveSplit && _parts == 2 && _callerParts == 1 && _helperParts == 1)
            {
                // Each thread ran one part: the one that finished later (counting the helper's wake-up) gets less next
                // time, in proportion to how much later. Only finishing times are compared, not speeds per element, so
                // work every part repeats (packing the operand it reads whole) cannot pull the cut to one side.
                var (caller, helper) = (_callerDone - _startTicks, _helperDone - _startTicks);
                var imbalance = (double)(caller - helper) / Math.Max(1, Math.Max(caller, helper));
                ref var share = ref _helperShares[_sizeClass];
                share = Math.Clamp(share + (ShareStep * imbalance), MinHelperShare, 1 - MinHelperShare);
            }

            return _error;
        }

        /// <summary>The helper's smallest share of a two-part call, and the caller's.</summary>
        private const double MinHelperShare = 0.1;

        /// <summary>How far one call's imbalance moves the cut: a helper finishing twice as late loses an eighth of the work.</summary>
        private const double ShareStep = 0.25;

        /// <summary>The cut of a two-part call: the helper's share of the grains, at least one grain each.</summary>
        private int SplitPoint(int count, int grain)
        {
            var grains = count / grain;
            var helperGrains = Math.Clamp((int)Math.Round(grains * (AdaptiveSplit ? _helperShares[_sizeClass] : 0.5)), 1, grains - 1);
            return (grains - helperGrains) * grain;
        }

        /// <summary>
        /// Takes the next part of call <paramref name="sequence"/>: the caller from the front, the helper from the back,
        /// so that when both run at the same speed each takes the same half every call (and finds its half of a
        /// streamed buffer still in its own cache from the call before), and either takes over the other's when it is slow.
        /// </summary>
        private bool TryTake(long sequence, bool fromBack, out int part)
        {
            while (true)
            {
                var claim = Volatile.Read(ref _claim);
                var (front, back) = ((int)((claim >> IndexBits) & IndexMask), (int)(claim & IndexMask));
                if (claim >> (2 * IndexBits) != (sequence & SequenceMask) || front >= back)
                {
                    part = -1;
                    return false;
                }

                part = fromBack ? back - 1 : front;
                var next = fromBack ? claim - 1 : claim + (1L << IndexBits);
                if (Interlocked.CompareExchange(ref _claim, next, claim) == claim)
                {
                    return true;
                }
            }
        }

        /// <summary>
        /// Part <paramref name="part"/>'s range: two parts are cut where the threads' speeds say; more share the grains as
        /// evenly as whole grains allow (those balance themselves, a part at a time).
        /// </summary>
        private (int From, int To) Bounds(int part)
        {
            if (_parts == 2)
            {
                return part == 0 ? (0, _splitAt) : (_splitAt, _count);
            }

            var grains = _count / _grain;
            var from = (int)((long)grains * part / _parts) * _grain;
            var to = part == _parts - 1 ? _count : (int)((long)grains * (part + 1) / _parts) * _grain;
            return (from, to);
        }

        private void PartFinished()
        {
            if (Interlocked.Decrement(ref _unfinished) == 0)
            {
                lock (_gate)
                {
                    Monitor.PulseAll(_gate);
                }
            }
        }

        private void Loop()
        {
            while (true)
            {
                long sequence;
                // Products come in bursts (a training step runs a dozen back to back): spin for a while before
                // sleeping, since waking a sleeping thread costs tens of microseconds, as much as a whole product.
                var idleSince = Stopwatch.GetTimestamp();
                while (!_started && Stopwatch.GetElapsedTime(idleSince).Ticks < IdleSpinTicks)
                {
                    Thread.SpinWait(4);
                }

                lock (_gate)
                {
                    while (!_started)
                    {
                        Monitor.Wait(_gate);
                    }

                    _started = false;
                    sequence = _sequence;
                }

                // Parts are taken only while the call's number is current: the caller may have finished the call
                // (taking every part itself) while this thread slept, and then nothing is run here.
                while (TryTake(sequence, fromBack: true, out var part))
                {
                    var (from, to) = Bounds(part);
                    try
                    {
                        _body(_context, from, to);
                    }
                    catch (Exception exception)
                    {
                        _error ??= exception;
                    }
                    finally
                    {
                        (_helperDone, _helperParts) = (Stopwatch.GetTimestamp(), _helperParts + 1);
                        PartFinished();
                    }
                }
            }
        }
    }
}
