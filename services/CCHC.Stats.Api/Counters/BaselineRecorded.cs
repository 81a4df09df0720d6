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

/// <summary>
/// A baseline given by mistake was withdrawn: from <see cref="WithdrawnAt"/> on it no longer counts (an <c>asOf</c> before
/// that moment still shows it). It carries the withdrawn figures and their day, so that counting it needs no other event.
/// </summary>
/// <param name="SiteId">The site.</param>
/// <param name="BaselineSequence">The withdrawn <see cref="BaselineRecorded"/>'s sequence in the history.</param>
/// <param name="WithdrawnAt">When, in the site's local offset.</param>
/// <param name="Day">The local date of <paramref name="WithdrawnAt"/> (the day whose history holds this fact).</param>
/// <param name="BaselineDay">The withdrawn baseline's own day: the periods whose figures it leaves.</param>
/// <param name="PageViews">The withdrawn page-view figures.</param>
/// <param name="Visits">The withdrawn visit figures.</param>
/// <param name="Reason">Why, as the admin wrote it, if given.</param>
public sealed record BaselineWithdrawn(
    string SiteId,
    long BaselineSequence,
    DateTimeOffset WithdrawnAt,
    DateOnly Day,
    DateOnly BaselineDay,
    BaselineCounts PageViews,
    BaselineCounts Visits,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] string? Reason);

/// <summary>One metric of a baseline, by period.</summary>
public sealed record BaselineCounts(long Day, long Week, long Month, long Year, long Total)
{
    /// <summary>
    /// The largest figure a baseline may carry, and the most a site's standing baselines may add up to (10^15). Counters
    /// are 64-bit (9.2 × 10^18): with every baseline and a thousand years of views at 10^4 a second added, no sum comes
    /// within a factor of a thousand of overflowing.
    /// </summary>
    public const long Max = 1_000_000_000_000_000;

    public long For(PeriodKind kind) => kind switch
    {
        PeriodKind.Day => Day,
        PeriodKind.Week => Week,
        PeriodKind.Month => Month,
        PeriodKind.Year => Year,
        _ => Total,
    };
}
