using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Dynamo.Sidecar.SimulatedWorker.PrefixCache;

/// <summary>
/// Imitates vLLM's automatic prefix caching: a prompt is cut into full blocks of tokens, each block is
/// identified by a hash chained over every block before it, and a request reuses the leading blocks that an
/// earlier request already computed. A "token" here is a 4-byte slice of the prompt's UTF-8 bytes.
/// </summary>
internal sealed class PrefixCacheIndex
{
    /// <summary>Upper bound for the block size, so one block plus its parent hash fits on the stack.</summary>
    public const int MaxBlockTokens = 256;

    /// <summary>How many block hashes are kept before the least recently used ones are evicted.</summary>
    public const int DefaultCapacity = 100_000;

    private const int BytesPerToken = 4;

    private readonly int _blockTokens;
    private readonly int _capacity;
    private readonly Lock _lock = new();
    private readonly Dictionary<ulong, LinkedListNode<ulong>> _blocks;
    // Front is least recently used; evicted nodes are reused so a full cache stops allocating.
    private readonly LinkedList<ulong> _recency = new();

    public PrefixCacheIndex(int blockTokens, int capacity = DefaultCapacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(blockTokens, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(blockTokens, MaxBlockTokens);
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _blockTokens = blockTokens;
        _capacity = capacity;
        _blocks = new Dictionary<ulong, LinkedListNode<ulong>>(Math.Min(capacity, 4096));
    }

    /// <summary>
    /// Returns how many of the prompt's tokens are served from cache, then records every full block of
    /// this prompt so later requests sharing the prefix hit it.
    /// </summary>
    public int LookupAndRecord(ReadOnlySpan<byte> prompt)
    {
        var tokens = (prompt.Length + BytesPerToken - 1) / BytesPerToken;
        var blockCount = tokens / _blockTokens;
        if (blockCount == 0)
        {
            return 0;
        }

        var rented = ArrayPool<ulong>.Shared.Rent(blockCount);
        try
        {
            var hashes = rented.AsSpan(0, blockCount);
            HashBlocks(prompt, _blockTokens * BytesPerToken, hashes);
            return _blockTokens * CountLeadingHitsAndRecord(hashes);
        }
        finally
        {
            ArrayPool<ulong>.Shared.Return(rented);
        }
    }

    private int CountLeadingHitsAndRecord(ReadOnlySpan<ulong> hashes)
    {
        lock (_lock)
        {
            var hits = 0;
            while (hits < hashes.Length && _blocks.ContainsKey(hashes[hits]))
            {
                hits++;
            }

            foreach (var hash in hashes)
            {
                Touch(hash);
            }

            return hits;
        }
    }

    private void Touch(ulong hash)
    {
        if (_blocks.TryGetValue(hash, out var node))
        {
            _recency.Remove(node);
            _recency.AddLast(node);
            return;
        }

        if (_blocks.Count >= _capacity)
        {
            node = _recency.First!;
            _recency.RemoveFirst();
            _blocks.Remove(node.Value);
            node.Value = hash;
        }
        else
        {
            node = new LinkedListNode<ulong>(hash);
        }

        _recency.AddLast(node);
        _blocks.Add(hash, node);
    }

    // vLLM can hash blocks with SHA-256 (--prefix-caching-hash-algo); chaining the parent hash makes a
    // block's identity depend on the whole prefix, so equal text after a different prefix is a miss.
    private static void HashBlocks(ReadOnlySpan<byte> prompt, int blockBytes, Span<ulong> hashes)
    {
        Span<byte> input = stackalloc byte[sizeof(ulong) + (MaxBlockTokens * BytesPerToken)];
        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        ulong parent = 0;
        for (var block = 0; block < hashes.Length; block++)
        {
            var start = block * blockBytes;
            // The last block may end in a partial token when the prompt length is not a multiple of 4.
            var bytes = prompt.Slice(start, Math.Min(blockBytes, prompt.Length - start));
            BinaryPrimitives.WriteUInt64LittleEndian(input, parent);
            bytes.CopyTo(input[sizeof(ulong)..]);
            SHA256.HashData(input[..(sizeof(ulong) + bytes.Length)], digest);
            parent = BinaryPrimitives.ReadUInt64LittleEndian(digest);
            hashes[block] = parent;
        }
    }
}
