namespace CCHC.Stats.Api.Counters;

/// <summary>
/// A legacy counter's totals were carried over. Each figure is added to the period of its kind that contains
/// <see cref="AsOf"/> (the total to all time), and counts only for moments at or after <see cref="AsOf"/>.
/// </summary>
/// <param name="SiteId">The site.</param>
/// <param name="AsOf">The moment the legacy figures stood at, in the site's local offset.</param>
/// <param name="Day">The local date of <paramref name="AsOf"/>.</param>
/// <param name="PageViews">Page views by period.</param>
/// <param name="Visits">Visits by period.</param>
/// <param name="RecordedAt">When the baseline was given.</param>
public sealed record BaselineRecorded(
    string SiteId,
    DateTimeOffset AsOf,
    DateOnly Day,
    BaselineCounts PageViews,
    BaselineCounts Visits,
    DateTimeOffset RecordedAt);

/// <summary>One metric of a baseline, by period.</summary>
public sealed record BaselineCounts(long Day, long Week, long Month, long Year, long Total)
{
    public long For(PeriodKind kind) => kind switch
    {
        PeriodKind.Day => Day,
        PeriodKind.Week => Week,
        PeriodKind.Month => Month,
        PeriodKind.Year => Year,
        _ => Total,
    };
}
