using System;
using System.Diagnostics;
using System.Runtime.ExceptionServices;
using System.Threading;

namespace ModelGen.Kernels;

/// <summary>
/// Splits a kernel's independent work (columns of a matrix product) between the calling thread and one helper
/// thread, without allocating. Each output element is computed by exactly the same instructions whichever thread
/// runs it, so results are bit-for-bit those of a single thread. On when <see cref="KernelSettings.MaxThreads"/>
/// is 2, the default on machines with two or more cores; small work, a single core or a helper already busy with
/// another caller keep everything on the calling thread even then.
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
    /// Runs <paramref name="body"/> over [0, <paramref name="count"/>): in two parts split at a multiple of
    /// <paramref name="grain"/>, the second on the helper, when the work (multiply-adds) is large enough and each
    /// output element sums at least <see cref="MinParallelReduction"/> products; else in one call.
    /// </summary>
    public static void Run(delegate*<void*, int, int, void> body, void* context, int count, int grain, long work, int reduction)
    {
        if (work < MinParallelWork || reduction < MinParallelReduction || count < 2 * grain || ThreadCount < 2 ||
            Interlocked.CompareExchange(ref _busy, 1, 0) != 0)
        {
            body(context, 0, count);
            return;
        }

        Exception? helperError = null;
        var helper = SharedHelper.Value;
        var split = count / 2 / grain * grain;
        var request = helper.Start(body, context, split, count);
        var reclaimed = false;
        try
        {
            body(context, 0, split);

            // A second half the helper has not begun by now (asleep, or its core taken by another process on a
            // shared machine, where waking it took milliseconds) is done here instead of waited for: two threads
            // are then never much slower than one.
            reclaimed = helper.TryReclaim(request);
            if (reclaimed)
            {
                body(context, split, count);
            }
        }
        finally
        {
            if (!reclaimed)
            {
                helperError = helper.Wait();
            }

            Volatile.Write(ref _busy, 0);
        }

        if (helperError is not null)
        {
            ExceptionDispatchInfo.Throw(helperError);
        }
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
    /// A background thread that runs one part of one kernel call at a time. Signalling uses one monitor and two
    /// flags rather than events: nothing here allocates after construction (an event's lazily created lock would, the
    /// first time a caller had to block).
    /// </summary>
    private sealed class Helper
    {
        /// <summary>Spins before sleeping: most parts finish within microseconds of each other.</summary>
        private const int SpinIterations = 2_000;

        /// <summary>How long the helper spins for its next part before it sleeps: 200 µs, in TimeSpan ticks.</summary>
        private const long IdleSpinTicks = 2_000;

        private readonly object _gate = new();
        private delegate*<void*, int, int, void> _body;
        private void* _context;
        private int _from;
        private int _to;
        private Exception? _error;
        private volatile bool _started;
        private volatile bool _done;

        /// <summary>The number of the part started last (under the gate).</summary>
        private long _sequence;

        /// <summary>
        /// Who runs the part started last: its number shifted left by two, with <see cref="Pending"/>,
        /// <see cref="ByHelper"/> or <see cref="ByCaller"/> in the low bits. Claimed by compare-and-swap, so exactly
        /// one thread runs each part, and a late helper cannot claim a part it read before the next one was started.
        /// </summary>
        private long _claim;

        private const long Pending = 0, ByHelper = 1, ByCaller = 2;

        public Helper()
        {
            var thread = new Thread(Loop) { IsBackground = true, Name = "ModelGen kernel helper" };
            thread.Start();
        }

        /// <summary>Hands the helper a part; returns its number, for <see cref="TryReclaim"/>.</summary>
        public long Start(delegate*<void*, int, int, void> body, void* context, int from, int to)
        {
            lock (_gate)
            {
                _body = body;
                _context = context;
                _from = from;
                _to = to;
                _error = null;
                _done = false;
                var sequence = ++_sequence;
                Volatile.Write(ref _claim, (sequence << 2) | Pending);
                _started = true;
                Monitor.PulseAll(_gate);
                return sequence;
            }
        }

        /// <summary>Takes part <paramref name="sequence"/> back if the helper has not begun it: true if the caller must now run it (and not wait).</summary>
        public bool TryReclaim(long sequence) =>
            Interlocked.CompareExchange(ref _claim, (sequence << 2) | ByCaller, (sequence << 2) | Pending) == ((sequence << 2) | Pending);

        /// <summary>Waits for the part started last, which the helper claimed; returns what it threw, if anything.</summary>
        public Exception? Wait()
        {
            for (var i = 0; i < SpinIterations && !_done; i++)
            {
                Thread.SpinWait(8);
            }

            lock (_gate)
            {
                while (!_done)
                {
                    Monitor.Wait(_gate);
                }

                return _error;
            }
        }

        private void Loop()
        {
            while (true)
            {
                delegate*<void*, int, int, void> body;
                void* context;
                int from, to;
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
                    body = _body;
                    context = _context;
                    from = _from;
                    to = _to;
                }

                // The caller may have taken the part back while this thread slept; then it is not run here, and
                // nobody waits for it.
                var pending = (sequence << 2) | Pending;
                if (Interlocked.CompareExchange(ref _claim, (sequence << 2) | ByHelper, pending) != pending)
                {
                    continue;
                }

                Exception? error = null;
                try
                {
                    body(context, from, to);
                }
                catch (Exception exception)
                {
                    error = exception;
                }

                lock (_gate)
                {
                    _error = error;
                    _done = true;
                    Monitor.PulseAll(_gate);
                }
            }
        }
    }
}
