using System.Runtime.InteropServices;
using CCHC.Stats.Api.Ingestion;
using CCHC.Stats.Api.Pages;
using CCHC.Stats.Api.Traffic;

namespace CCHC.Stats.Api.Counters;

/// <summary>
/// The counting engine: applies a page of facts (views, baselines, withdrawals), in order, to the visitor-days they
/// touch, and yields the change to every count they touch (<see cref="Changes"/>), which the store adds to its counts.
/// The live projection and the rebuild both count with it; the recounts of raw views (<see cref="DayRecount"/>) use the
/// same visit rule (<see cref="VisitorDay"/>). Pure and deterministic: no clock, no I/O; the same facts give the same
/// figures, whatever their order within a site-day.
/// </summary>
/// <remarks>
/// A view counts for its site in the five periods of its local day, in its local hour and in its local ten minutes. In
/// the day's periods: a page view, the change in visits (a late view can start a visit earlier or join two), and a
/// visitor the first time the visitor is seen that day. In the hour: a page view, a visitor the first time the visitor
/// is seen in that hour, each visit in the hour of its first view (so a visit whose start moves, moves hour), and each of
/// the day's visitors in the hour of their first view of the day (<see cref="Counts.FirstVisitors"/>). Its ten minutes
/// count it as its hour does, all but the hour's distinct visitors: they make <c>asOf</c> exact from stored counts up to
/// a moment's ten minutes (<see cref="CountersAsOf"/>). A view counts for its page (<see cref="PageIdentity"/>) as it counts for its
/// site, page views only, in the periods stored for pages (<see cref="CountKey.IsStoredByDay"/>: a week is its days). A
/// page baseline adds to its page's all-time figure alone; a page's title is the newest non-empty one
/// (<see cref="Titles"/>). A visit counts for the source of its first view (<see cref="VisitSource"/>) in the same periods
/// as a page: a late view that starts a visit earlier moves it to its own source, one that joins two visits takes the
/// second's out of its source.
/// </remarks>
public sealed class CounterBook
{
    private readonly Dictionary<string, VisitorDay> _visitorDays = [];
    private readonly Dictionary<CountKey, Counts> _changes = [];

    /// <summary>The keys of each site-day's periods met so far, in <see cref="PeriodKeys.AllKinds"/> order: a page holds
    /// thousands of views of a few site-days, and their keys are worth working out once.</summary>
    private readonly Dictionary<(string SiteId, DateOnly Day), CountKey[]> _siteDays = [];

    /// <summary>The page of each URL met so far: a busy article is viewed many times in a page of events.</summary>
    private readonly Dictionary<string, string> _pages = new(StringComparer.Ordinal);

    /// <summary>
    /// The keys of the hour and the ten minutes of each site's ten minutes met so far (by their local start): a view, its
    /// visit's start and its visitor's first view each count in both, and formatting the keys at each was worth saving.
    /// </summary>
    private readonly Dictionary<(string SiteId, DateTime Start, TimeSpan Offset), (CountKey Hour, CountKey TenMinutes)> _moments = [];

    private readonly Dictionary<(string SiteId, string Page), PageTitle> _titles = [];

    /// <summary>A book for facts that touch the given visitor-days as they stood before them (and new ones).</summary>
    public CounterBook(IReadOnlyDictionary<string, VisitorDay> visitorDays) => Reset(visitorDays);

    /// <summary>
    /// Starts the book afresh, as a new one on <paramref name="visitorDays"/> would, keeping the room its tables grew to: a
    /// page of a site with thousands of articles changes tens of thousands of counts, and growing the tables again at every
    /// page was a fifth of what the live projection allocated (<see cref="CounterProjection"/> keeps one book).
    /// </summary>
    public void Reset(IReadOnlyDictionary<string, VisitorDay> visitorDays)
    {
        _changes.Clear();
        _siteDays.Clear();
        _pages.Clear();
        _moments.Clear();
        _titles.Clear();
        _visitorDays.Clear();
        foreach (var (id, visitorDay) in visitorDays)
        {
            _visitorDays[id] = visitorDay;
        }
    }

    /// <summary>The change to each count the facts applied so far touched.</summary>
    public IReadOnlyDictionary<CountKey, Counts> Changes => _changes;

    /// <summary>The newest non-empty title of each page the facts gave one, and its moment: the store keeps a title unless
    /// this one is newer (<see cref="CountStore.TitlesSql"/>).</summary>
    public IReadOnlyDictionary<(string SiteId, string Page), PageTitle> Titles => _titles;

    /// <summary>The visitor-days the facts touched, as they stand now.</summary>
    public IEnumerable<VisitorDay> VisitorDays => _visitorDays.Values;

    /// <summary>Applies the facts that count (page views, baselines and their withdrawals) in order; any other event changes nothing.</summary>
    public void ApplyAll(IEnumerable<object> facts)
    {
        foreach (var fact in facts)
        {
            switch (fact)
            {
                case PageViewed view:
                    Apply(view);
                    break;
                case BaselineRecorded baseline:
                    Apply(baseline);
                    break;
                case BaselineWithdrawn withdrawal:
                    Apply(withdrawal);
                    break;
                case PageBaselineRecorded pageBaseline:
                    Apply(pageBaseline);
                    break;
            }
        }
    }

    public void Apply(PageViewed view)
    {
        var day = view.Day; // worked out from the view's moment: once a view
        var id = VisitorDay.IdFor(view.SiteId, day, view.VisitorHash);
        if (!_visitorDays.TryGetValue(id, out var visitorDay))
        {
            visitorDay = new VisitorDay(id, view.SiteId, day, view.VisitorHash);
            _visitorDays[id] = visitorDay;
        }

        var hour = PeriodKeys.HourOf(view.OccurredAt);
        var seenThisHour = visitorDay.HasViewIn(hour.Start, hour.End);
        var source = view.Referrer is null ? null : VisitSource.Of(view.Referrer, view.Url);
        var effect = visitorDay.Add(view.OccurredAt, source == VisitSource.Direct ? null : source);

        foreach (var key in PeriodsOf(view.SiteId, day))
        {
            Add(key, new Counts(PageViews: 1, Visits: effect.VisitDelta, Visitors: key.Period == PeriodKind.Day && effect.NewVisitor ? 1 : 0));
        }

        var moment = MomentOf(view.SiteId, view.OccurredAt);
        Add(moment.Hour, new Counts(PageViews: 1, Visitors: seenThisHour ? 0 : 1));
        Add(moment.TenMinutes, new Counts(PageViews: 1));

        var page = PageOf(view.Url);
        var one = new Counts(PageViews: 1);
        foreach (var key in PeriodsOf(view.SiteId, day))
        {
            if (CountKey.IsStoredByDay(key.Period))
            {
                Add(CountKey.Page(view.SiteId, page, key.Period, key.PeriodKey), one);
            }
        }

        KeepTitle(view.SiteId, page, view.Title, view.OccurredAt);
        if (effect.FirstViewBefore != effect.FirstViewNow)
        {
            // The visitor is new today, or their first view of the day moved earlier (a late view): the hour and the ten
            // minutes that add them to the day's visitors may change.
            if (effect.FirstViewBefore is { } before)
            {
                AddToMoment(view.SiteId, before, new Counts(FirstVisitors: -1));
            }

            AddToMoment(view.SiteId, effect.FirstViewNow, new Counts(FirstVisitors: 1));
        }

        CountVisitStart(view.SiteId, day, effect.VisitStarted, 1, effect.StartedFrom);
        CountVisitStart(view.SiteId, day, effect.VisitEnded, -1, effect.EndedFrom);
        CountVisitStart(view.SiteId, day, effect.SecondEnded, -1, effect.SecondEndedFrom);
    }

    /// <summary>A visit start that appeared (+1) or vanished (-1): in its hour and ten minutes, and for its source in the view's day's periods.</summary>
    private void CountVisitStart(string siteId, DateOnly day, DateTimeOffset? start, int change, string? from)
    {
        if (start is not { } at)
        {
            return;
        }

        AddToMoment(siteId, at, new Counts(Visits: change));
        foreach (var key in PeriodsOf(siteId, day))
        {
            if (CountKey.IsStoredByDay(key.Period))
            {
                Add(CountKey.Source(siteId, from ?? VisitSource.Direct, key.Period, key.PeriodKey), new Counts(Visits: change));
            }
        }
    }

    /// <summary>Baselines are bounded at the door (<see cref="BaselineCounts.Max"/>); sums are checked all the same.</summary>
    public void Apply(BaselineRecorded baseline)
    {
        foreach (var key in PeriodsOf(baseline.SiteId, baseline.Day))
        {
            Add(key, new Counts(BaselinePageViews: baseline.PageViews.For(key.Period), BaselineVisits: baseline.Visits.For(key.Period)));
        }
    }

    /// <summary>A withdrawal takes its baseline's figures back out of the periods they were added to.</summary>
    public void Apply(BaselineWithdrawn withdrawal)
    {
        foreach (var key in PeriodsOf(withdrawal.SiteId, withdrawal.BaselineDay))
        {
            Add(key, new Counts(BaselinePageViews: -withdrawal.PageViews.For(key.Period), BaselineVisits: -withdrawal.Visits.For(key.Period)));
        }
    }

    /// <summary>A page baseline adds to its page's all-time figure only (the page it was recorded for).</summary>
    public void Apply(PageBaselineRecorded baseline)
    {
        Add(CountKey.Page(baseline.SiteId, baseline.Page, PeriodKind.Total, PeriodKeys.TotalKey), new Counts(BaselinePageViews: baseline.PageViews));
        KeepTitle(baseline.SiteId, baseline.Page, baseline.Title, baseline.AsOf);
    }

    /// <summary>The keys of a site's five periods that contain a local day.</summary>
    public static CountKey[] PeriodKeysOf(string siteId, DateOnly day)
    {
        var periods = new PeriodKeys(day);
        return PeriodKeys.AllKinds.Select(kind => CountKey.Site(siteId, kind, periods.Key(kind))).ToArray();
    }

    /// <summary>Adds a change to the hour and the ten minutes of a moment (in the site's local offset).</summary>
    private void AddToMoment(string siteId, DateTimeOffset at, Counts change)
    {
        var moment = MomentOf(siteId, at);
        Add(moment.Hour, change);
        Add(moment.TenMinutes, change);
    }

    /// <summary>The keys of the hour and the ten minutes of a moment (in the site's local offset).</summary>
    private (CountKey Hour, CountKey TenMinutes) MomentOf(string siteId, DateTimeOffset at)
    {
        var start = PeriodKeys.TenMinutesOf(at).Start;
        ref var keys = ref CollectionsMarshal.GetValueRefOrAddDefault(_moments, (siteId, start.DateTime, start.Offset), out var known);
        if (!known)
        {
            keys = (CountKey.Site(siteId, PeriodKind.Hour, PeriodKeys.HourKey(PeriodKeys.HourOf(at).Start)),
                CountKey.Site(siteId, PeriodKind.TenMinutes, PeriodKeys.TenMinutesKey(at)));
        }

        return keys;
    }

    private CountKey[] PeriodsOf(string siteId, DateOnly day)
    {
        if (!_siteDays.TryGetValue((siteId, day), out var keys))
        {
            _siteDays[(siteId, day)] = keys = PeriodKeysOf(siteId, day);
        }

        return keys;
    }

    private string PageOf(string url)
    {
        if (!_pages.TryGetValue(url, out var page))
        {
            _pages[url] = page = PageIdentity.Of(url);
        }

        return page;
    }

    /// <summary>Keeps a title unless the page has a newer one (the later fact wins a tie).</summary>
    private void KeepTitle(string siteId, string page, string? title, DateTimeOffset at)
    {
        if (!string.IsNullOrWhiteSpace(title) && !(_titles.TryGetValue((siteId, page), out var kept) && kept.At > at))
        {
            _titles[(siteId, page)] = new PageTitle(title, at);
        }
    }

    private void Add(CountKey key, Counts change)
    {
        ref var counts = ref CollectionsMarshal.GetValueRefOrAddDefault(_changes, key, out _);
        counts += change;
    }
}

/// <summary>A page's title and the moment of the fact that gave it.</summary>
public readonly record struct PageTitle(string Title, DateTimeOffset At);
