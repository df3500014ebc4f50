using System;
using System.Diagnostics;
using System.Threading;

namespace ModelGen.Kernels;

// The helper threads behind WorkSplitter.Run: how a call is published, how parts are claimed, and how the caller
// waits for the parts the helpers took.
internal static unsafe partial class WorkSplitter
{
    /// <summary>
    /// Background threads that take parts of one kernel call at a time alongside the caller. Signalling uses monitors
    /// (one per helper to wake it, one for the caller to wait on) and a few counters rather than events: nothing here
    /// allocates after the helpers are created (an event's lazily created lock would, the first time a caller had to
    /// block).
    /// </summary>
    private sealed class Pool
    {
        /// <summary>Spins of the caller before it sleeps waiting for helpers: most parts finish within microseconds of each other.</summary>
        private const int SpinIterations = 2_000;

        /// <summary>How long a helper spins for its next call before it sleeps: 200 µs, in TimeSpan ticks.</summary>
        private const long IdleSpinTicks = 2_000;

        /// <summary>Bits of each of the two part indices in <see cref="_claim"/>; the call's number is above them.</summary>
        private const int IndexBits = 16;

        private const long IndexMask = (1L << IndexBits) - 1;

        /// <summary>The bits of a call's number <see cref="_claim"/> keeps (calls 2³¹ apart are never both live).</summary>
        private const long SequenceMask = (1L << 31) - 1;

        /// <summary>The helper's smallest share of an adaptive two-part call, and the caller's.</summary>
        private const double MinHelperShare = 0.1;

        /// <summary>How far one call's imbalance moves the cut: a helper finishing twice as late loses an eighth of the work.</summary>
        private const double ShareStep = 0.25;

        /// <summary>What the caller waits on for the helpers' last parts.</summary>
        private readonly object _gate = new();

        /// <summary>One per helper thread started so far, by index (only grows; replaced under <see cref="_busy"/>).</summary>
        private Waker[] _wakers = [];

        // The current call: written by the caller before it publishes the call's number, read by the helpers after.
        private delegate*<void*, int, int, void> _body;
        private void* _context;
        private int _count;
        private int _grain;
        private int _parts;
        private bool _adaptive;

        /// <summary>Helpers (by index, from 0) that may take parts of the current call: the others stay asleep.</summary>
        private int _activeHelpers;

        private Exception? _error;

        /// <summary>The number of the call published last: the helpers wait for it to change.</summary>
        private long _sequence;

        /// <summary>
        /// The call's number, then the first part not taken from the front, then the end of the parts not taken from
        /// the back (<see cref="IndexBits"/> each). Parts are taken by compare-and-swap, so each runs exactly once, and
        /// a helper that wakes late cannot take a part of a call that has already returned: the number no longer matches.
        /// </summary>
        private long _claim;

        /// <summary>Parts of the current call not yet finished (or never to be started, once the call is closed).</summary>
        private int _unfinished;

        /// <summary>Where an adaptive two-part call is cut: the helper takes [_splitAt, count).</summary>
        private int _splitAt;

        /// <summary>
        /// The share of an adaptive two-part call given to the helper, one per size of call (by the binary logarithm of
        /// its work), each moved after every call of its size towards where both threads would have finished together.
        /// The two vCPUs of a shared machine often do not run at the same speed (measured here: the same product
        /// 1.3-1.9× slower on one vCPU than on the other in some runs), and halves then wait on the slower one. Sizes are
        /// kept apart because the helper's wake-up weighs more in a short call than in a long one.
        /// </summary>
        private readonly double[] _helperShares = CreateShares();

        /// <summary>The size class of the current call: an index into <see cref="_helperShares"/>.</summary>
        private int _sizeClass;

        // When the current call started, when the caller and the helper finished their last part in it, and how many
        // parts each ran (kept for adaptive calls, which have one helper; read by the caller once every part is finished).
        private long _startTicks, _callerDone, _helperDone;
        private int _callerParts, _helperParts;

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

        /// <summary>Starts helper threads until there are <paramref name="helpers"/> (the first calls that need them allocate them).</summary>
        public void EnsureHelpers(int helpers)
        {
            if (_wakers.Length >= helpers)
            {
                return;
            }

            var wakers = new Waker[helpers];
            Array.Copy(_wakers, wakers, _wakers.Length);
            for (var index = _wakers.Length; index < helpers; index++)
            {
                var (waker, number, seen) = (wakers[index] = new Waker(), index, Volatile.Read(ref _sequence));
                var thread = new Thread(() => Loop(number, waker, seen)) { IsBackground = true, Name = $"ModelGen kernel helper {number + 1}" };
                thread.Start();
            }

            _wakers = wakers;
        }

        /// <summary>Publishes a call of <paramref name="parts"/> parts for <paramref name="helpers"/> helpers; returns its number.</summary>
        public long Start(delegate*<void*, int, int, void> body, void* context, int count, int grain, int parts, int helpers, bool adaptive, long work)
        {
            _body = body;
            _context = context;
            _count = count;
            _grain = grain;
            _parts = parts;
            _activeHelpers = helpers;
            _adaptive = adaptive && parts == 2;
            _sizeClass = 63 - System.Numerics.BitOperations.LeadingZeroCount((ulong)Math.Max(work, 1));
            _splitAt = _adaptive ? SplitPoint(count, grain) : 0;
            (_callerParts, _helperParts) = (0, 0);
            _startTicks = Stopwatch.GetTimestamp();
            _error = null;
            Volatile.Write(ref _unfinished, parts);
            var sequence = _sequence + 1;
            Volatile.Write(ref _claim, ((sequence & SequenceMask) << (2 * IndexBits)) + parts);

            // The call is published by its number (after everything above). A helper that is about to sleep marks
            // itself asleep before it looks at the number a last time; with a full fence on both sides, either it sees
            // this call or this thread sees the mark and wakes it. Only the helpers this call wants are woken.
            Interlocked.Exchange(ref _sequence, sequence);
            for (var index = 0; index < helpers; index++)
            {
                var waker = _wakers[index];
                if (Volatile.Read(ref waker.Asleep))
                {
                    lock (waker)
                    {
                        Monitor.Pulse(waker);
                    }
                }
            }

            return sequence;
        }

        /// <summary>Takes and runs parts of call <paramref name="sequence"/> from the front until none is left (the caller).</summary>
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
        /// parts the helpers are running, and returns the first exception a helper threw, if any.
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

            if (_adaptive && AdaptiveSplit && _callerParts == 1 && _helperParts == 1)
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

        /// <summary>The cut of an adaptive two-part call: the helper's share of the grains, at least one grain each.</summary>
        private int SplitPoint(int count, int grain)
        {
            var grains = count / grain;
            var helperGrains = Math.Clamp((int)Math.Round(grains * (AdaptiveSplit ? _helperShares[_sizeClass] : 0.5)), 1, grains - 1);
            return (grains - helperGrains) * grain;
        }

        /// <summary>
        /// Takes the next part of call <paramref name="sequence"/>: the caller from the front, the helpers from the back,
        /// so that the caller's parts are always the first ones, in order (a product split by depth relies on it), and
        /// when the threads run at the same speed each takes the same parts every call (and finds its share of a
        /// streamed buffer still in its own cache from the call before).
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
        /// Part <paramref name="part"/>'s range: an adaptive call is cut where the threads' speeds say; others share the
        /// grains as evenly as whole grains allow (those balance themselves, a part at a time).
        /// </summary>
        private (int From, int To) Bounds(int part)
        {
            if (_adaptive)
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

        /// <summary>
        /// Helper number <paramref name="index"/>: waits for each call after <paramref name="seen"/> and, if the call
        /// wants it, takes parts from the back until none is left.
        /// </summary>
        private void Loop(int index, Waker waker, long seen)
        {
            var spin = false;
            while (true)
            {
                // Products come in bursts (a training step runs a dozen back to back): a helper the last call used spins
                // for a while before sleeping, since waking a sleeping thread costs tens of microseconds, as much as a
                // whole product. Helpers the last call did not use, and every helper when there are more threads than
                // processors (spinning would take the core from a thread with work), sleep at once.
                var idleSince = Stopwatch.GetTimestamp();
                while (spin && Volatile.Read(ref _sequence) == seen && Stopwatch.GetElapsedTime(idleSince).Ticks < IdleSpinTicks)
                {
                    Thread.SpinWait(4);
                }

                if (Volatile.Read(ref _sequence) == seen)
                {
                    lock (waker)
                    {
                        Interlocked.Exchange(ref waker.Asleep, true);
                        while (Volatile.Read(ref _sequence) == seen)
                        {
                            Monitor.Wait(waker);
                        }

                        Volatile.Write(ref waker.Asleep, false);
                    }
                }

                seen = Volatile.Read(ref _sequence);

                // Read after the call's number: the call's own value, or a later call's (whose parts the claim keeps
                // from this thread, since it asks for call `seen`).
                var active = Volatile.Read(ref _activeHelpers);
                spin = index < active && active < Environment.ProcessorCount;
                if (index >= active)
                {
                    continue;
                }

                // Parts are taken only while the call's number is current: the caller may have finished the call
                // (taking every part itself) while this thread slept, and then nothing is run here.
                while (TryTake(seen, fromBack: true, out var part))
                {
                    var (from, to) = Bounds(part);
                    try
                    {
                        _body(_context, from, to);
                    }
                    catch (Exception exception)
                    {
                        Interlocked.CompareExchange(ref _error, exception, null);
                    }
                    finally
                    {
                        if (_adaptive)
                        {
                            (_helperDone, _helperParts) = (Stopwatch.GetTimestamp(), _helperParts + 1);
                        }

                        Interlocked.Increment(ref _partsRunByHelpers);
                        PartFinished();
                    }
                }
            }
        }

        /// <summary>
        /// What wakes one helper: its own monitor, so that a call wakes only the helpers it wants (on a machine of many
        /// cores, a narrow product would otherwise wake every sleeping helper only for most to go back to sleep).
        /// </summary>
        private sealed class Waker
        {
            /// <summary>Whether the helper is asleep on this monitor, or about to be (set under it).</summary>
            public bool Asleep;
        }
    }
}
