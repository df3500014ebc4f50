namespace ModelGen.Kernels;

/// <summary>Process-wide settings of the kernels.</summary>
public static class KernelSettings
{
    /// <summary>
    /// How many threads one large kernel (a matrix product, a convolution's per-sample passes, batch normalization, an
    /// optimizer's update) may use, the calling thread included: 1 keeps every kernel on the calling thread; n lets it
    /// share the work with up to n − 1 helper threads, started the first time they are needed. Any positive value is
    /// accepted (more threads than processors only slows the kernels down). The initial value comes from the
    /// environment variable <c>MODELGEN_THREADS</c>, else it is the processor count. Results do not depend on this
    /// setting: work is cut into parts fixed by the data's shape, or so that each element is computed the same way on
    /// any thread, and the bits are the same for every thread count (see docs/performance.md).
    /// </summary>
    /// <exception cref="System.ArgumentOutOfRangeException">The value set is zero or negative.</exception>
    public static int MaxThreads
    {
        get => WorkSplitter.MaxThreads;
        set => WorkSplitter.MaxThreads = value;
    }
}
