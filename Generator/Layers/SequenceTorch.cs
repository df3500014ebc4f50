namespace ModelGen.Generator.Layers;

/// <summary>The Python classes of the sequence layers' PyTorch modules, which <c>torch.nn</c> lacks, as the remarks print them.</summary>
internal static class SequenceTorch
{
    /// <summary>What a sequence layer's ONNX layer is: none; a model with one has no ONNX export (its ExportOnnx says so).</summary>
    public const string NoOnnx = "null";

    public static readonly string[] TokenEmbedding =
    [
        "class TokenEmbedding(nn.Module):  # tokens(ids) + positions",
        "    def __init__(self, vocabulary, dim, positions):",
        "        super().__init__()",
        "        self.tokens = nn.Embedding(vocabulary, dim)",
        "        self.positions = nn.Parameter(torch.zeros(positions, dim)) if positions else None",
        string.Empty,
        "    def forward(self, ids):",
        "        x = self.tokens(ids)",
        "        return x if self.positions is None else x + self.positions[: ids.shape[1]]",
        string.Empty,
    ];

    public static readonly string[] SelfAttention =
    [
        "class SelfAttention(nn.Module):  # proj(softmax(q·kᵀ/√dₕ + mask)·v), q | k | v = qkv(x)",
        "    def __init__(self, dim, heads, causal):",
        "        super().__init__()",
        "        self.heads, self.causal = heads, causal",
        "        self.qkv = nn.Linear(dim, 3 * dim)",
        "        self.proj = nn.Linear(dim, dim)",
        string.Empty,
        "    def forward(self, x):",
        "        b, t, d = x.shape",
        "        q, k, v = (z.view(b, t, self.heads, -1).transpose(1, 2) for z in self.qkv(x).split(d, dim=2))",
        "        o = nn.functional.scaled_dot_product_attention(q, k, v, is_causal=self.causal)",
        "        return self.proj(o.transpose(1, 2).reshape(b, t, d))",
        string.Empty,
    ];

    public static readonly string[] TiedHead =
    [
        "class TiedHead(nn.Module):  # x·Eᵀ, E the embedding's table: set head.table = embedding.tokens.weight",
        "    def forward(self, x):",
        "        return x @ self.table.T",
        string.Empty,
    ];

    public static readonly string[] Recurrent =
    [
        "class Outputs(nn.Module):  # every step's h of a recurrent layer from a zero state",
        "    def __init__(self, rnn):",
        "        super().__init__()",
        "        self.rnn = rnn",
        string.Empty,
        "    def forward(self, x):",
        "        return self.rnn(x)[0]",
        string.Empty,
    ];

    public static readonly string[] LastState =
    [
        "class LastState(nn.Module):  # the last step's h of a recurrent layer from a zero state",
        "    def __init__(self, rnn):",
        "        super().__init__()",
        "        self.rnn = rnn",
        string.Empty,
        "    def forward(self, x):",
        "        return self.rnn(x)[0][:, -1]",
        string.Empty,
    ];

    public static readonly string[] Pooling =
    [
        "class SequencePool(nn.Module):  # [batch, T, F] to [batch, F]: the mean over the positions, or the last one",
        "    def __init__(self, how):",
        "        super().__init__()",
        "        self.how = how",
        string.Empty,
        "    def forward(self, x):",
        "        return x.mean(dim=1) if self.how == \"mean\" else x[:, -1]",
        string.Empty,
    ];
}
