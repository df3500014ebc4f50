using System;
using System.Runtime.ExceptionServices;
using System.Threading;

namespace ModelGen;

/// <summary>
/// Batches of a <see cref="StreamingDataset"/>, read by a thread of their own while the training thread steps: the
/// reader fills the next batches into free slots (three, each a pair of 64-byte-aligned pinned buffers), the training
/// thread takes them in order and hands each back once its step is done with it.
/// </summary>
/// <remarks>
/// <para>
/// The work is given as plans: an ordered list of samples to deliver in batches of a given size (an epoch of
/// <c>Fit</c>, or a pass of <c>Evaluate</c>). A plan starts only after the previous one's batches have all been taken,
/// so the order array the reader reads is never changed under it: <c>Fit</c> shuffles it between epochs.
/// </para>
/// <para>
/// The reader checks each batch's targets (<see cref="TargetRules"/>) and applies the augmentation, in batch order,
/// before it hands the batch over. Whatever fails while a batch is filled (a bad target, a file cut short) is
/// delivered with that batch and thrown on the training thread when it takes it, before any step sees it.
/// </para>
/// <para>
/// Both threads wait on one monitor, so nothing is allocated per batch on either. <see cref="Dispose"/> stops the
/// reader, waits for it and closes the files; it is what <c>Fit</c> and <c>Evaluate</c> run on every way out.
/// </para>
/// <para>
/// A dataset read through memory mappings (<see cref="StreamingDataset.MappingLimit"/>) has no reader thread: reading
/// a batch is then a copy (or a conversion from bytes) out of the mapping, as cheap as the in-memory <c>Fit</c>'s copy
/// of its batch, and the training thread does it as it takes the batch. A third thread's wake-ups and its share of the
/// cores cost more than the copy (on two cores, a shuffled Fashion-MNIST epoch ran at 90–94 % of the in-memory speed
/// with the thread).
/// </para>
/// </remarks>
internal sealed class BatchPipeline : IDisposable
{
    /// <summary>The slots: one batch in the step, two read ahead.</summary>
    private const int Slots = 3;

    private static int s_runningReaders;

    private readonly object _gate = new();
    private readonly StreamingDataset _data;
    private readonly SampleReader _reader;
    private readonly Slot[] _slots;
    private readonly TargetRules _rules;
    private readonly CancellationToken _cancellation;
    private readonly CancellationTokenRegistration _registration;
    private readonly Thread? _thread;

    // The plan, set by Begin under the gate; the reader copies it when it takes it.
    private int[]? _order;
    private int _start;
    private int _count;
    private int _batchSize;
    private ImageAugmentation? _augmentation;
    private SeededRandom _augmentationRandom;
    private bool _planned;

    // Progress through the current plan, under the gate: batches filled by the reader, taken and released by the trainer.
    private int _batches;
    private int _filled;
    private int _taken;
    private int _released;

    private bool _stopping;
    private ExceptionDispatchInfo? _failure;

    /// <summary>Opens <paramref name="data"/>'s files and starts the reader; batches hold up to <paramref name="capacity"/> samples.</summary>
    /// <exception cref="System.IO.InvalidDataException">A file changed since the dataset was opened.</exception>
    public BatchPipeline(StreamingDataset data, int capacity, TargetRules rules, CancellationToken cancellation)
    {
        _data = data;
        _rules = rules;
        _cancellation = cancellation;
        _slots = new Slot[Slots];
        for (var s = 0; s < Slots; s++)
        {
            _slots[s] = new Slot(capacity * data.FeatureSize, capacity * data.TargetSize);
        }

        _reader = new SampleReader(data);
        if (!_reader.Mapped)
        {
            _thread = new Thread(Run) { IsBackground = true, Name = "ModelGen reader" };
            try
            {
                _thread.Start();
            }
            catch
            {
                _reader.Dispose();
                throw;
            }
        }

        if (cancellation.CanBeCanceled)
        {
            _registration = cancellation.UnsafeRegister(static state => ((BatchPipeline)state!).Wake(), this);
        }
    }

    /// <summary>Reader threads running now, in every pipeline of the process (the tests check that none outlives its call).</summary>
    internal static int RunningReaders => Volatile.Read(ref s_runningReaders);

    /// <summary>
    /// Starts a plan: <paramref name="count"/> samples, <paramref name="order"/>[<paramref name="start"/> + k] (or
    /// <paramref name="start"/> + k without an order), in batches of <paramref name="batchSize"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">The previous plan has batches not yet taken.</exception>
    public void Begin(int[]? order, int start, int count, int batchSize, ImageAugmentation? augmentation, SeededRandom augmentationRandom)
    {
        lock (_gate)
        {
            if (_taken < _batches || _planned)
            {
                throw new InvalidOperationException("A plan started before the previous one's batches were all taken.");
            }

            (_order, _start, _count, _batchSize) = (order, start, count, batchSize);
            (_augmentation, _augmentationRandom) = (augmentation, augmentationRandom);
            _batches = (count + batchSize - 1) / batchSize;
            (_filled, _taken, _released) = (0, 0, 0);
            _planned = _thread is not null || _batches > 0; // without a reader, an empty plan is over at once
            Monitor.PulseAll(_gate);
        }
    }

    /// <summary>
    /// Waits for the plan's next batch and returns its number of samples; the spans stay valid until <see cref="Release"/>.
    /// Throws what went wrong while that batch was read.
    /// </summary>
    /// <exception cref="OperationCanceledException">The cancellation token was cancelled while waiting.</exception>
    public int Next(out Span<float> inputs, out Span<float> targets)
    {
        Slot slot;
        if (_thread is null)
        {
            // No reader thread: the batch is read here, into the one slot in use.
            _cancellation.ThrowIfCancellationRequested();
            if (!_planned || _taken >= _batches)
            {
                throw new InvalidOperationException("No batch is left in the plan.");
            }

            slot = _slots[0];
            var first = _taken * _batchSize;
            Fill(slot, _order, _start + first, Math.Min(_batchSize, _count - first), _augmentation, ref _augmentationRandom);
            _taken++;
            _planned = _taken < _batches;
        }
        else
        {
            lock (_gate)
            {
                while (_filled <= _taken)
                {
                    _failure?.Throw();
                    _cancellation.ThrowIfCancellationRequested();
                    Monitor.Wait(_gate);
                }

                slot = _slots[_taken % Slots];
                _taken++;
            }
        }

        slot.Error?.Throw();
        inputs = slot.Inputs.Span.Slice(0, slot.Count * _data.FeatureSize);
        targets = slot.Targets.Span.Slice(0, slot.Count * _data.TargetSize);
        return slot.Count;
    }

    /// <summary>Gives the batch <see cref="Next"/> returned back to the reader.</summary>
    public void Release()
    {
        lock (_gate)
        {
            _released++;
            Monitor.PulseAll(_gate);
        }
    }

    /// <summary>Stops the reader (after the batch it is reading, if any), waits for it, and closes the files.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_stopping)
            {
                return;
            }

            _stopping = true;
            Monitor.PulseAll(_gate);
        }

        _thread?.Join();
        _registration.Dispose();
        _reader.Dispose();
    }

    private void Wake()
    {
        lock (_gate)
        {
            Monitor.PulseAll(_gate);
        }
    }

    /// <summary>The reader thread: plan after plan, each batch into the next free slot, until told to stop.</summary>
    private void Run()
    {
        Interlocked.Increment(ref s_runningReaders);
        try
        {
            while (true)
            {
                int[]? order;
                int start, count, batchSize, batches;
                ImageAugmentation? augmentation;
                SeededRandom augmentationRandom;
                lock (_gate)
                {
                    while (!_planned && !_stopping)
                    {
                        Monitor.Wait(_gate);
                    }

                    if (_stopping)
                    {
                        return;
                    }

                    _planned = false;
                    (order, start, count, batchSize, batches) = (_order, _start, _count, _batchSize, _batches);
                    (augmentation, augmentationRandom) = (_augmentation, _augmentationRandom);
                }

                for (var b = 0; b < batches; b++)
                {
                    lock (_gate)
                    {
                        while (b - _released >= Slots && !_stopping)
                        {
                            Monitor.Wait(_gate);
                        }

                        if (_stopping)
                        {
                            return;
                        }
                    }

                    var first = b * batchSize;
                    var filled = Fill(_slots[b % Slots], order, start + first, Math.Min(batchSize, count - first), augmentation, ref augmentationRandom);
                    lock (_gate)
                    {
                        _filled = b + 1;
                        Monitor.PulseAll(_gate);
                    }

                    // A failed batch ends the plan: the trainer throws when it takes it.
                    if (!filled)
                    {
                        break;
                    }
                }
            }
        }
        catch (Exception exception)
        {
            // Not a batch's failure (those travel with their batch): the reader itself broke. The trainer throws it.
            lock (_gate)
            {
                _failure = ExceptionDispatchInfo.Capture(exception);
                Monitor.PulseAll(_gate);
            }
        }
        finally
        {
            Interlocked.Decrement(ref s_runningReaders);
        }
    }

    /// <summary>Reads, checks and augments one batch into <paramref name="slot"/>; false when it failed (the error is in the slot).</summary>
    private bool Fill(Slot slot, int[]? order, int start, int count, ImageAugmentation? augmentation, ref SeededRandom augmentationRandom)
    {
        try
        {
            var inputs = slot.Inputs.Span.Slice(0, count * _data.FeatureSize);
            var targets = slot.Targets.Span.Slice(0, count * _data.TargetSize);
            _reader.Read(order, start, count, inputs, targets);
            var invalid = _rules.FindInvalid(targets);
            if (invalid >= 0)
            {
                var sample = _rules.SampleOf(invalid);
                var index = order is null ? start + sample : order[start + sample];
                throw new ArgumentException(
                    _rules.Describe(targets[invalid], invalid, $"Sample {index} of the streamed dataset ({_data.Locate(index)})"), "data");
            }

            augmentation?.Apply(inputs, ref augmentationRandom);
            (slot.Count, slot.Error) = (count, null);
            return true;
        }
        catch (Exception exception)
        {
            (slot.Count, slot.Error) = (0, ExceptionDispatchInfo.Capture(exception));
            return false;
        }
    }

    /// <summary>One batch's buffers, and what the reader left in them.</summary>
    private sealed class Slot(int inputs, int targets)
    {
        public AlignedBuffer Inputs { get; } = new(inputs);

        public AlignedBuffer Targets { get; } = new(targets);

        public int Count { get; set; }

        public ExceptionDispatchInfo? Error { get; set; }
    }
}
