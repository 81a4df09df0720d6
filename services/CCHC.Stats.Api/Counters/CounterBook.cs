using CCHC.Stats.Api.Ingestion;

namespace CCHC.Stats.Api.Counters;

/// <summary>
/// The counting rules, apart from storage: given the documents a page of events touches, applies the events
/// to them. <see cref="CounterProjection"/> loads the documents, runs this, and stores what changed. Pure
/// and deterministic: the same events give the same figures, whatever their order within the site-day.
/// </summary>
public sealed class CounterBook(
    IReadOnlyDictionary<string, PeriodCounter> counters,
    IReadOnlyDictionary<string, VisitorDay> visitorDays)
{
    private readonly Dictionary<string, PeriodCounter> _counters = new(counters);
    private readonly Dictionary<string, VisitorDay> _visitorDays = new(visitorDays);

    /// <summary>The counters of each site-day met so far, in <see cref="PeriodKeys.AllKinds"/> order: a page holds
    /// thousands of views of a few site-days, and their ids are worth working out once.</summary>
    private readonly Dictionary<(string SiteId, DateOnly Day), PeriodCounter[]> _siteDays = [];

    public IEnumerable<PeriodCounter> Counters => _counters.Values;

    public IEnumerable<VisitorDay> VisitorDays => _visitorDays.Values;

    /// <summary>The ids of the counter documents an event touches (to load them before applying).</summary>
    public static IEnumerable<string> CounterIds(string siteId, DateOnly day) =>
        PeriodKeys.AllKinds.Select(kind => PeriodCounter.IdFor(siteId, kind, new PeriodKeys(day).Key(kind)));

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
            }
        }
    }

    public void Apply(PageViewed view)
    {
        var id = VisitorDay.IdFor(view.SiteId, view.Day, view.VisitorHash);
        if (!_visitorDays.TryGetValue(id, out var visitorDay))
        {
            visitorDay = new VisitorDay { Id = id, SiteId = view.SiteId };
            _visitorDays[id] = visitorDay;
        }

        var effect = visitorDay.Add(view.OccurredAt);
        foreach (var counter in CountersOf(view.SiteId, view.Day))
        {
            counter.PageViews++;
            counter.Visits += effect.VisitDelta;
            if (counter.Period == PeriodKind.Day && effect.NewVisitor)
            {
                counter.Visitors++;
            }
        }
    }

    /// <summary>Baselines are bounded at the door (<see cref="BaselineCounts.Max"/>); checked all the same, so a sum never wraps.</summary>
    public void Apply(BaselineRecorded baseline)
    {
        foreach (var counter in CountersOf(baseline.SiteId, baseline.Day))
        {
            counter.BaselinePageViews = checked(counter.BaselinePageViews + baseline.PageViews.For(counter.Period));
            counter.BaselineVisits = checked(counter.BaselineVisits + baseline.Visits.For(counter.Period));
        }
    }

    /// <summary>A withdrawal takes its baseline's figures back out of the periods they were added to.</summary>
    public void Apply(BaselineWithdrawn withdrawal)
    {
        foreach (var counter in CountersOf(withdrawal.SiteId, withdrawal.BaselineDay))
        {
            counter.BaselinePageViews = checked(counter.BaselinePageViews - withdrawal.PageViews.For(counter.Period));
            counter.BaselineVisits = checked(counter.BaselineVisits - withdrawal.Visits.For(counter.Period));
        }
    }

    private PeriodCounter[] CountersOf(string siteId, DateOnly day)
    {
        if (_siteDays.TryGetValue((siteId, day), out var known))
        {
            return known;
        }

        var periods = new PeriodKeys(day);
        var counters = PeriodKeys.AllKinds.Select(kind =>
        {
            var key = periods.Key(kind);
            var id = PeriodCounter.IdFor(siteId, kind, key);
            if (!_counters.TryGetValue(id, out var counter))
            {
                counter = PeriodCounter.Empty(siteId, kind, key, periods.Day);
                _counters[id] = counter;
            }

            return counter;
        }).ToArray();
        _siteDays[(siteId, day)] = counters;
        return counters;
    }
}
