using System.Collections.Concurrent;

namespace CCHC.Stats.Api.Hosting;

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

/// <summary>
/// Answers read again in the background once they are older than <c>keptFor</c>, the older one served meanwhile, so no
/// reader of a busy key waits for a read but the very first. An answer older than <c>servedFor</c> is not served: its
/// reader waits for a fresh one (a key nobody asked for in a while is not answered with what it was then). Past
/// <c>maxEntries</c> keys all are dropped and read again as asked.
/// </summary>
public sealed class RefreshedReads<TKey, TValue>(TimeProvider clock, TimeSpan keptFor, TimeSpan servedFor, int maxEntries = 100_000) where TKey : notnull
{
    private readonly ConcurrentDictionary<TKey, Entry> _entries = new();

    public Task<TValue> GetOrReadAsync(TKey key, Func<TKey, Task<TValue>> read)
    {
        var now = clock.GetTimestamp();
        if (!_entries.TryGetValue(key, out var entry))
        {
            if (_entries.Count >= maxEntries)
            {
                _entries.Clear();
            }

            entry = _entries.GetOrAdd(key, k => new Entry(read(k), now));
        }

        var age = clock.GetElapsedTime(entry.ReadAt, now);
        if (entry.Reading.IsFaulted || entry.Reading.IsCanceled || (entry.Reading.IsCompletedSuccessfully && age >= servedFor))
        {
            // A failed read is not kept, and one too old is not served: this reader waits for a fresh one.
            var fresh = new Entry(read(key), now);
            return _entries.TryUpdate(key, fresh, entry) ? fresh.Reading : _entries.GetValueOrDefault(key, fresh).Reading;
        }

        if (entry.Reading.IsCompletedSuccessfully && age >= keptFor && entry.TryStartRefresh())
        {
            _ = RefreshAsync(key, entry, read);
        }

        return entry.Reading;
    }

    private async Task RefreshAsync(TKey key, Entry stale, Func<TKey, Task<TValue>> read)
    {
        var started = clock.GetTimestamp();
        try
        {
            var value = await read(key);
            _entries.TryUpdate(key, new Entry(Task.FromResult(value), started), stale);
        }
        catch
        {
            stale.RefreshFailed(); // served as it is until a later reader tries again
        }
    }

    private sealed class Entry(Task<TValue> reading, long readAt)
    {
        private int _refreshing;

        public Task<TValue> Reading { get; } = reading;

        public long ReadAt { get; } = readAt;

        public bool TryStartRefresh() => Interlocked.Exchange(ref _refreshing, 1) == 0;

        public void RefreshFailed() => Volatile.Write(ref _refreshing, 0);
    }
}
