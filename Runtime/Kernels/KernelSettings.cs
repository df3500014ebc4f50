namespace ModelGen.Kernels;

/// <summary>Process-wide settings of the kernels.</summary>
public static class KernelSettings
{
    /// <summary>
    /// How many threads one large matrix product may use: 1 keeps every kernel on the calling thread; 2 lets the
    /// caller share the columns of a product with one helper thread. Larger values are treated as 2. The initial
    /// value comes from the environment variable <c>MODELGEN_THREADS</c>, else it is the processor count (up to 2).
    /// Results do not depend on this setting: each element is computed the same way on either thread. Two threads
    /// pay off only when the second core is otherwise idle (see docs/performance.md).
    /// </summary>
    public static int MaxThreads
    {
        get => WorkSplitter.MaxThreads;
        set => WorkSplitter.MaxThreads = value;
    }
}
