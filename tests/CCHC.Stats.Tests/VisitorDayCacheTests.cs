using CCHC.Stats.Api.Counters;

namespace CCHC.Stats.Tests;

/// <summary>
/// The projection's visitor-day cache trusts only what the event sequence confirms: a page it kept is held once the
/// stored mark has passed it, and anything it cannot account for empties it.
/// </summary>
public sealed class VisitorDayCacheTests
{
    private static readonly DateOnly Today = new(2026, 11, 29);
    private static readonly (string SiteId, DateOnly Day) SiteDay = ("hue", Today);
    private static readonly DateTimeOffset Nine = new(2026, 11, 29, 9, 0, 0, TimeSpan.FromHours(7));

    [Fact]
    public void a_kept_page_is_held_once_the_mark_has_passed_it()
    {
        var cache = new VisitorDayCache(100);
        cache.Reconcile(firstSequence: 1, progress: 0, lastBefore: 0);
        KeepPage(cache, lastSequence: 10, "a", "b");

        Assert.Equal(2, Lookup(cache, "a", "b").ToLoad.Count); // pending: not held yet

        cache.Reconcile(firstSequence: 11, progress: 12, lastBefore: 10);

        var (held, toLoad) = Lookup(cache, "a", "b");
        Assert.Equal([Id("a"), Id("b")], held.Keys.Order());
        Assert.Empty(toLoad);
    }

    [Fact]
    public void a_held_visitor_day_is_handed_out_as_a_copy()
    {
        var cache = Holding("a");

        Lookup(cache, "a").Held[Id("a")].Add(Nine.AddHours(3));

        Assert.Single(Lookup(cache, "a").Held[Id("a")].Runs);
    }

    [Fact]
    public void a_page_whose_commit_failed_empties_the_cache()
    {
        var cache = Holding("a");
        KeepPage(cache, lastSequence: 20, "b");

        // The daemon retries the page: the mark is still where the held page left it.
        cache.Reconcile(firstSequence: 11, progress: 10, lastBefore: 10);

        Assert.Empty(Lookup(cache, "a").Held);
        Assert.Equal(0, cache.Count);
    }

    [Fact]
    public void events_the_cache_never_saw_empty_it()
    {
        var cache = Holding("a");

        // Another node applied 11..30 while this one did not run the projection.
        cache.Reconcile(firstSequence: 31, progress: 30, lastBefore: 30);

        Assert.Empty(Lookup(cache, "a").Held);
    }

    [Fact]
    public void a_page_from_before_empties_it()
    {
        var cache = Holding("a");

        // A rebuild set the mark back: the daemon starts over from the first event.
        cache.Reconcile(firstSequence: 1, progress: 0, lastBefore: 0);

        Assert.Empty(Lookup(cache, "a").Held);
    }

    [Fact]
    public void a_visitor_not_held_of_a_site_day_begun_in_a_page_needs_no_lookup()
    {
        var cache = new VisitorDayCache(100);
        cache.Reconcile(1, 0, 0);
        KeepPage(cache, lastSequence: 10, begun: true, "a");
        cache.Reconcile(11, 10, 10);

        var (held, toLoad) = Lookup(cache, "a", "new");

        Assert.Single(held);
        Assert.Empty(toLoad);
    }

    [Fact]
    public void beyond_its_capacity_the_least_recently_written_go_and_their_site_day_is_no_longer_whole()
    {
        var cache = new VisitorDayCache(4);
        cache.Reconcile(1, 0, 0);
        KeepPage(cache, lastSequence: 10, begun: true, "a", "b");
        cache.Reconcile(11, 10, 10);
        KeepPage(cache, lastSequence: 20, "c", "d", "e");
        cache.Reconcile(21, 20, 20);

        var (held, toLoad) = Lookup(cache, "a", "b", "c", "d", "e", "new");

        Assert.Equal(3, cache.Count);
        Assert.Equal([Id("c"), Id("d"), Id("e")], held.Keys.Order());
        Assert.Equal([Id("a"), Id("b"), Id("new")], toLoad.Order());
    }

    private static VisitorDayCache Holding(params string[] visitors)
    {
        var cache = new VisitorDayCache(100);
        cache.Reconcile(1, 0, 0);
        KeepPage(cache, lastSequence: 10, visitors);
        cache.Reconcile(11, 10, 10);
        Assert.Equal(visitors.Length, Lookup(cache, visitors).Held.Count);
        return cache;
    }

    private static void KeepPage(VisitorDayCache cache, long lastSequence, params string[] visitors) =>
        KeepPage(cache, lastSequence, begun: false, visitors);

    private static void KeepPage(VisitorDayCache cache, long lastSequence, bool begun, params string[] visitors)
    {
        var days = visitors.Select(v =>
        {
            var day = new VisitorDay(SiteDay.SiteId, Today, v);
            day.Add(Nine);
            return day;
        }).ToList();
        cache.Keep(lastSequence, days, days.ToDictionary(d => d.Id, _ => SiteDay), begun ? [SiteDay] : []);
    }

    private static (Dictionary<string, VisitorDay> Held, List<string> ToLoad) Lookup(VisitorDayCache cache, params string[] visitors) =>
        cache.Lookup(visitors.ToDictionary(Id, _ => SiteDay));

    private static string Id(string visitor) => VisitorDay.IdFor(SiteDay.SiteId, Today, visitor);
}
