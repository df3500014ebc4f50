using System;
using System.Runtime.ExceptionServices;
using System.Threading;

namespace ModelGen.Kernels;

/// <summary>
/// Splits a kernel's independent work (columns of a matrix product) between the calling thread and one helper
/// thread, without allocating. Each output element is computed by exactly the same instructions whichever thread
/// runs it, so results are bit-for-bit those of a single thread. Small work, a single core, a helper already busy
/// with another caller, or <c>MODELGEN_THREADS=1</c> keep everything on the calling thread.
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

    private static readonly Helper? SharedHelper = CreateHelper();
    private static int _busy;

    /// <summary>Threads a large kernel runs on: 2 when the helper exists, else 1.</summary>
    public static int ThreadCount => SharedHelper is null ? 1 : 2;

    /// <summary>
    /// Runs <paramref name="body"/> over [0, <paramref name="count"/>): in two parts split at a multiple of
    /// <paramref name="grain"/>, the second on the helper, when the work is large enough; else in one call.
    /// </summary>
    public static void Run(delegate*<void*, int, int, void> body, void* context, int count, int grain, long work)
    {
        var helper = SharedHelper;
        if (helper is null || work < MinParallelWork || count < 2 * grain || Interlocked.CompareExchange(ref _busy, 1, 0) != 0)
        {
            body(context, 0, count);
            return;
        }

        Exception? helperError;
        var split = count / 2 / grain * grain;
        helper.Start(body, context, split, count);
        try
        {
            body(context, 0, split);
        }
        finally
        {
            helperError = helper.Wait();
            Volatile.Write(ref _busy, 0);
        }

        if (helperError is not null)
        {
            ExceptionDispatchInfo.Throw(helperError);
        }
    }

    private static Helper? CreateHelper()
    {
        var setting = Environment.GetEnvironmentVariable("MODELGEN_THREADS");
        return Environment.ProcessorCount < 2 || setting == "1" ? null : new Helper();
    }

    /// <summary>
    /// A background thread that runs one part of one kernel call at a time. Signalling uses one monitor and two
    /// flags rather than events: nothing here allocates after construction (an event's lazily created lock would, the
    /// first time a caller had to block).
    /// </summary>
    private sealed class Helper
    {
        /// <summary>Spins before sleeping: most parts finish within microseconds of each other.</summary>
        private const int SpinIterations = 2_000;

        private readonly object _gate = new();
        private delegate*<void*, int, int, void> _body;
        private void* _context;
        private int _from;
        private int _to;
        private Exception? _error;
        private bool _started;
        private volatile bool _done;

        public Helper()
        {
            var thread = new Thread(Loop) { IsBackground = true, Name = "ModelGen kernel helper" };
            thread.Start();
        }

        public void Start(delegate*<void*, int, int, void> body, void* context, int from, int to)
        {
            lock (_gate)
            {
                _body = body;
                _context = context;
                _from = from;
                _to = to;
                _error = null;
                _done = false;
                _started = true;
                Monitor.PulseAll(_gate);
            }
        }

        /// <summary>Waits for the part started last; returns what it threw, if anything.</summary>
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
                lock (_gate)
                {
                    while (!_started)
                    {
                        Monitor.Wait(_gate);
                    }

                    _started = false;
                    body = _body;
                    context = _context;
                    from = _from;
                    to = _to;
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
