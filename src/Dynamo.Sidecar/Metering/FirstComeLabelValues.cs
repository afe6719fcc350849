using System.Collections.Concurrent;

namespace Dynamo.Sidecar.Metering;

/// <summary>
/// Bounds a label's cardinality: the first <c>capacity</c> distinct values are admitted, every later one is refused,
/// so a client that invents names cannot grow the metrics without end. Thread-safe.
/// </summary>
internal sealed class FirstComeLabelValues(int capacity)
{
    private readonly ConcurrentDictionary<string, byte> _admitted = new(StringComparer.Ordinal);

    /// <returns>True when <paramref name="value"/> is, or has just become, one of the admitted values.</returns>
    public bool TryAdmit(string value)
    {
        if (_admitted.ContainsKey(value))
        {
            return true;
        }

        // New values are rare; the lock keeps the cap exact without slowing the common lookup above.
        lock (_admitted)
        {
            if (_admitted.Count >= capacity && !_admitted.ContainsKey(value))
            {
                return false;
            }

            _admitted.TryAdd(value, 0);
            return true;
        }
    }
}
