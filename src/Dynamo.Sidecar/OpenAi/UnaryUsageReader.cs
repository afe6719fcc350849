using System.Buffers;
using System.Text.Json;

namespace Dynamo.Sidecar.OpenAi;

/// <summary>
/// Finds the top-level <c>usage</c> of a unary JSON response while its bytes pass by in pieces,
/// keeping only the unread tail (at most one JSON token, capped) instead of the whole body.
/// </summary>
internal sealed class UnaryUsageReader : IDisposable
{
    private readonly int _maxRetainedBytes;
    private readonly UsageDialect _dialect;
    private JsonReaderState _state = new(OpenAiJson.ReaderOptions);
    private byte[]? _retained;
    private int _retainedLength;
    private bool _gaveUp;
    private bool _rootEnded;

    public UnaryUsageReader(int maxRetainedBytes, UsageDialect dialect = default)
    {
        _maxRetainedBytes = maxRetainedBytes;
        _dialect = dialect;
    }

    public Usage Usage { get; private set; } = Usage.None;

    /// <summary>Feeds the next piece of the body.</summary>
    public void Append(ReadOnlySpan<byte> piece)
    {
        if (_gaveUp || _rootEnded || piece.IsEmpty)
        {
            return;
        }

        ReadOnlySpan<byte> data;
        if (_retainedLength == 0)
        {
            data = piece;
        }
        else
        {
            EnsureCapacity(_retainedLength + piece.Length);
            piece.CopyTo(_retained.AsSpan(_retainedLength));
            data = _retained.AsSpan(0, _retainedLength + piece.Length);
        }

        try
        {
            var unread = Read(data);
            Retain(data[^unread..]);
        }
        catch (JsonException)
        {
            GiveUp();
        }
    }

    public void Dispose()
    {
        if (_retained is not null)
        {
            ArrayPool<byte>.Shared.Return(_retained);
            _retained = null;
        }
    }

    /// <returns>How many bytes at the end of <paramref name="data"/> must be read again with more data.</returns>
    private int Read(ReadOnlySpan<byte> data)
    {
        var reader = new Utf8JsonReader(data, isFinalBlock: false, _state);
        var checkpoint = 0L;
        var checkpointState = _state;
        while (reader.Read())
        {
            if (reader.CurrentDepth == 0)
            {
                if (reader.TokenType == JsonTokenType.EndObject)
                {
                    _rootEnded = true;
                    return 0;
                }

                if (reader.TokenType != JsonTokenType.StartObject)
                {
                    GiveUp();
                    return 0;
                }
            }
            else if (reader.CurrentDepth == 1 && reader.TokenType == JsonTokenType.PropertyName && reader.ValueTextEquals("usage"u8))
            {
                if (!reader.Read() || !TryReadUsage(ref reader, data))
                {
                    break;
                }
            }

            checkpoint = reader.BytesConsumed;
            checkpointState = reader.CurrentState;
        }

        _state = checkpointState;
        return data.Length - (int)checkpoint;
    }

    private bool TryReadUsage(ref Utf8JsonReader reader, ReadOnlySpan<byte> data)
    {
        var start = (int)reader.TokenStartIndex;
        if (!reader.TrySkip())
        {
            return false;
        }

        var usageReader = new Utf8JsonReader(data[start..(int)reader.BytesConsumed], OpenAiJson.ReaderOptions);
        usageReader.Read();
        Usage = _dialect.Read(ref usageReader);
        return true;
    }

    private void Retain(ReadOnlySpan<byte> unread)
    {
        if (unread.IsEmpty)
        {
            _retainedLength = 0;
            return;
        }

        if (unread.Length > _maxRetainedBytes)
        {
            GiveUp();
            return;
        }

        // unread may already live at the end of _retained: move it to the front.
        EnsureCapacity(unread.Length);
        unread.CopyTo(_retained);
        _retainedLength = unread.Length;
    }

    private void EnsureCapacity(int length)
    {
        if (_retained is not null && _retained.Length >= length)
        {
            return;
        }

        var larger = ArrayPool<byte>.Shared.Rent(Math.Max(length, 4096));
        if (_retained is not null)
        {
            _retained.AsSpan(0, _retainedLength).CopyTo(larger);
            ArrayPool<byte>.Shared.Return(_retained);
        }

        _retained = larger;
    }

    private void GiveUp()
    {
        _gaveUp = true;
        _retainedLength = 0;
    }
}
