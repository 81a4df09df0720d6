namespace CCHC.Stats.Api.Counters;

/// <summary>
/// The visitor-days as the live projection last committed them, kept on the node that runs it, so that a page of
/// views needs no lookup of its visitors: at half load the lookup was a third of the projection's PostgreSQL time,
/// and that time is what new views wait behind on a two-core machine. Also knows which site-days it holds whole
/// (it met their first view), so that a visitor not held of such a site-day is known to be new without asking.
/// </summary>
/// <remarks>
/// <para>
/// The cache is only ever right about what this node's pages wrote, so it trusts nothing it cannot check from the
/// event sequence. Each page's visitor-days wait as pending until the next page shows that the projection's mark
/// has passed them (the page committed); a page whose commit failed empties the cache. And if events of the kind
/// counted lie between what the cache has seen and the next page (another node ran the projection meanwhile, or a
/// rebuild replayed them), the cache starts over empty. Emptying costs only lookups; trusting a stale visitor-day
/// would count a visit wrongly, forever.
/// </para>
/// <para>
/// Bounded by <c>Stats:VisitorDayCache</c> entries: beyond it, the least recently used
/// visitor-days go, and their site-days are no longer held whole. Not thread-safe: the daemon applies one page of a
/// projection at a time.
/// </para>
/// </remarks>
public sealed class VisitorDayCache(int capacity)
{
    private readonly Dictionary<string, Entry> _entries = [];
    private readonly HashSet<(string SiteId, DateOnly Day)> _whole = [];
    private Page? _pending;
    private long _pageNumber;

    /// <summary>The last event sequence the held visitor-days reflect.</summary>
    private long _confirmedThrough;

    /// <summary>No entries kept (capacity 0): every page looks its visitors up, as before the cache.</summary>
    public bool Enabled => capacity > 0;

    /// <summary>Visitor-days held (pending ones not counted).</summary>
    public int Count => _entries.Count;

    /// <summary>
    /// Settles the pending page before the next one is applied. <paramref name="progress"/> is the projection's
    /// stored mark; <paramref name="lastBefore"/> the sequence of the last stored event before
    /// <paramref name="firstSequence"/>, the next page's first event.
    /// </summary>
    public void Reconcile(long firstSequence, long progress, long lastBefore)
    {
        if (_pending is { } pending)
        {
            _pending = null;
            if (progress >= pending.LastSequence)
            {
                Promote(pending);
            }
            else
            {
                // The page's transaction failed (the daemon retries it): what the cache would have made of the
                // page, and any site-day it thought whole, are no longer sure.
                Clear();
            }
        }

        if (firstSequence <= _confirmedThrough || lastBefore > _confirmedThrough)
        {
            // A page from before (the projection restarted) or events this cache never saw (applied by another
            // node, replayed by a rebuild, or skipped as a gap): start over from the database.
            Clear();
            _confirmedThrough = lastBefore;
        }
    }

    /// <summary>
    /// A copy of each held visitor-day among <paramref name="ids"/> (the page changes its copies, not the cache), and
    /// the ids of those not held that may be stored: those of a site-day not held whole.
    /// </summary>
    public (Dictionary<string, VisitorDay> Held, List<string> ToLoad) Lookup(
        IReadOnlyDictionary<string, (string SiteId, DateOnly Day)> ids)
    {
        var held = new Dictionary<string, VisitorDay>();
        var toLoad = new List<string>();
        foreach (var (id, siteDay) in ids)
        {
            if (_entries.TryGetValue(id, out var entry))
            {
                held[id] = entry.Day.Copy();
            }
            else if (!_whole.Contains(siteDay))
            {
                toLoad.Add(id);
            }
        }

        return (held, toLoad);
    }

    /// <summary>
    /// Keeps a page's visitor-days as pending, to be held once the page is seen committed.
    /// <paramref name="newSiteDays"/> are the site-days the page began (no day counter was stored for them): every
    /// visitor-day of theirs is in <paramref name="days"/> or comes in a later page.
    /// </summary>
    public void Keep(long lastSequence, IEnumerable<VisitorDay> days,
        IReadOnlyDictionary<string, (string SiteId, DateOnly Day)> siteDays, IEnumerable<(string SiteId, DateOnly Day)> newSiteDays) =>
        _pending = new Page(lastSequence, days.Select(d => new Entry(d, siteDays[d.Id], 0)).ToList(), newSiteDays.ToList());

    /// <summary>Forgets everything (a rebuild rewrites the visitor-days).</summary>
    public void Clear()
    {
        _entries.Clear();
        _whole.Clear();
        _pending = null;
    }

    private void Promote(Page page)
    {
        _pageNumber++;
        _whole.UnionWith(page.NewSiteDays);
        foreach (var entry in page.Days)
        {
            _entries[entry.Day.Id] = entry with { Page = _pageNumber };
        }

        _confirmedThrough = page.LastSequence;
        if (_entries.Count > capacity)
        {
            Evict();
        }
    }

    /// <summary>Down to three quarters of the capacity, least recently written first, so that eviction is rare.</summary>
    private void Evict()
    {
        var keep = capacity * 3 / 4;
        foreach (var entry in _entries.Values.OrderBy(e => e.Page).Take(_entries.Count - keep).ToList())
        {
            _entries.Remove(entry.Day.Id);
            _whole.Remove(entry.SiteDay);
        }
    }

    private sealed record Entry(VisitorDay Day, (string SiteId, DateOnly Day) SiteDay, long Page);

    private sealed record Page(long LastSequence, List<Entry> Days, List<(string SiteId, DateOnly Day)> NewSiteDays);
}
