using CCHC.Stats.Api.Hosting;
using Microsoft.Extensions.Time.Testing;

namespace CCHC.Stats.Tests;

/// <summary>
/// The cache in front of the live page reads: a busy key is answered at once and read again in the background, a key
/// not asked for in a while is read afresh, and a failed read is never kept.
/// </summary>
public sealed class RefreshedReadsTests
{
    private readonly FakeTimeProvider _clock = new();
    private int _reads;

    private Task<int> Read(string key) => Task.FromResult(Interlocked.Increment(ref _reads));

    [Fact]
    public async Task within_keptFor_the_answer_is_served_as_it_is()
    {
        var cache = new RefreshedReads<string, int>(_clock, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5));

        Assert.Equal(1, await cache.GetOrReadAsync("a", Read));
        _clock.Advance(TimeSpan.FromMilliseconds(900));

        Assert.Equal(1, await cache.GetOrReadAsync("a", Read));
        Assert.Equal(1, _reads);
    }

    [Fact]
    public async Task past_keptFor_the_older_answer_is_served_while_a_fresh_one_is_read()
    {
        var cache = new RefreshedReads<string, int>(_clock, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5));
        await cache.GetOrReadAsync("a", Read);
        _clock.Advance(TimeSpan.FromSeconds(2));

        Assert.Equal(1, await cache.GetOrReadAsync("a", Read)); // served at once, the read started behind it
        Assert.Equal(2, await cache.GetOrReadAsync("a", Read));
        Assert.Equal(2, _reads);
    }

    [Fact]
    public async Task past_servedFor_the_reader_waits_for_a_fresh_answer()
    {
        var cache = new RefreshedReads<string, int>(_clock, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5));
        await cache.GetOrReadAsync("a", Read);
        _clock.Advance(TimeSpan.FromHours(1));

        Assert.Equal(2, await cache.GetOrReadAsync("a", Read));
    }

    [Fact]
    public async Task a_failed_read_is_not_kept_and_past_maxEntries_all_are_read_again()
    {
        var cache = new RefreshedReads<string, int>(_clock, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5), maxEntries: 2);

        await Assert.ThrowsAsync<InvalidOperationException>(() => cache.GetOrReadAsync("a", _ => Task.FromException<int>(new InvalidOperationException())));
        Assert.Equal(1, await cache.GetOrReadAsync("a", Read));
        Assert.Equal(2, await cache.GetOrReadAsync("b", Read));
        Assert.Equal(3, await cache.GetOrReadAsync("c", Read)); // the third key: the two held are dropped
        Assert.Equal(4, await cache.GetOrReadAsync("a", Read));
    }
}
