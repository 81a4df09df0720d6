using CCHC.Stats.Api.Ingestion;

namespace CCHC.Stats.Api.Counters;

/// <summary>
/// What a page of facts touches, to have its state at hand before <see cref="CounterBook"/> applies the page: its
/// site-days, and one visitor-day per distinct visitor and day. Used by the live projection and by
/// the rebuild's replay alike.
/// </summary>
public sealed class TouchedDocuments(int capacity = 0)
{
    public HashSet<(string SiteId, DateOnly Day)> SiteDays { get; } = [];

    /// <summary>Visitor-day ids, each with its site-day.</summary>
    public Dictionary<string, (string SiteId, DateOnly Day)> VisitorDays { get; } = new(capacity);

    /// <summary>Starts over with the facts of another page (the collections keep their capacity).</summary>
    public TouchedDocuments Of(IEnumerable<object> facts)
    {
        SiteDays.Clear();
        VisitorDays.Clear();
        foreach (var fact in facts)
        {
            switch (fact)
            {
                case PageViewed view:
                    SiteDays.Add((view.SiteId, view.Day));
                    VisitorDays.TryAdd(VisitorDay.IdFor(view.SiteId, view.Day, view.VisitorHash), (view.SiteId, view.Day));
                    break;
                case BaselineRecorded baseline:
                    SiteDays.Add((baseline.SiteId, baseline.Day));
                    break;
                case BaselineWithdrawn withdrawal:
                    SiteDays.Add((withdrawal.SiteId, withdrawal.BaselineDay));
                    break;
            }
        }

        return this;
    }
}
