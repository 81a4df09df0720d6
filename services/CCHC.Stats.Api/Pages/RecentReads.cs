using System.Collections.Concurrent;

namespace CCHC.Stats.Api.Pages;

/// <summary>
/// Answers kept for a short while (<see cref="PageCounts.LiveFor"/>): all of them are dropped together when the while is
/// over, so keeping one costs a dictionary entry and dropping them costs nothing (no expiry scan, no compaction: a
/// size-bounded <c>MemoryCache</c> read 100,000 distinct pages at a fifth of this rate, busy compacting). The entries are
/// the reads themselves, so readers of one page at the same moment wait for one read of the database.
/// </summary>
public sealed class RecentReads<TKey, TValue>(TimeProvider clock, TimeSpan keptFor) where TKey : notnull
{
    private Generation _current = new(long.MinValue);

    public async Task<TValue> GetOrReadAsync(TKey key, Func<TKey, Task<TValue>> read)
    {
        var now = clock.GetTimestamp() / (long)(keptFor.TotalSeconds * clock.TimestampFrequency);
        var current = Volatile.Read(ref _current);
        if (current.Number != now)
        {
            var fresh = new Generation(now);
            current = Interlocked.CompareExchange(ref _current, fresh, current) == current ? fresh : Volatile.Read(ref _current);
        }

        var reading = current.Reads.GetOrAdd(key, k => new Lazy<Task<TValue>>(() => read(k)));
        try
        {
            return await reading.Value;
        }
        catch
        {
            // A failed read is not kept: the next reader tries again.
            current.Reads.TryRemove(new KeyValuePair<TKey, Lazy<Task<TValue>>>(key, reading));
            throw;
        }
    }

    private sealed class Generation(long number)
    {
        public long Number { get; } = number;

        public ConcurrentDictionary<TKey, Lazy<Task<TValue>>> Reads { get; } = new();
    }
}
