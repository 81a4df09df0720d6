using System.Globalization;

namespace CCHC.Stats.Api.Counters;

/// <summary>
/// The kinds of period a view is counted in. The counters show the first five; hours make series, and hours and ten
/// minutes make exact <c>asOf</c> (a moment's day up to it is its closed hours, its hour's closed ten minutes and the raw
/// views of its ten minutes).
/// </summary>
public enum PeriodKind { Day, Week, Month, Year, Total, Hour, TenMinutes }

/// <summary>
/// The periods that contain a site-local date, and the keys the contract gives them. Weeks are ISO-8601
/// (Monday first, keyed by the ISO week-year: 2025-12-31 is <c>2026-W01</c>); months and years are calendar
/// ones. Only the local date matters here: which date an instant falls on is <see cref="SiteCalendar"/>'s job.
/// </summary>
public readonly record struct PeriodKeys(DateOnly Day)
{
    public const string TotalKey = "all";

    public static readonly PeriodKind[] AllKinds = [PeriodKind.Day, PeriodKind.Week, PeriodKind.Month, PeriodKind.Year, PeriodKind.Total];

    public string Key(PeriodKind kind) => kind switch
    {
        PeriodKind.Day => Day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        PeriodKind.Week => $"{ISOWeek.GetYear(Date):D4}-W{ISOWeek.GetWeekOfYear(Date):D2}",
        PeriodKind.Month => Day.ToString("yyyy-MM", CultureInfo.InvariantCulture),
        PeriodKind.Year => Day.ToString("yyyy", CultureInfo.InvariantCulture),
        PeriodKind.Total => TotalKey,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Hours and ten minutes are keyed by their moment (HourKey, TenMinutesKey), not by a date."),
    };

    /// <summary>The first local date of the period of this kind that contains <see cref="Day"/>.</summary>
    public DateOnly FirstDay(PeriodKind kind) => kind switch
    {
        PeriodKind.Day => Day,
        PeriodKind.Week => DateOnly.FromDateTime(ISOWeek.ToDateTime(ISOWeek.GetYear(Date), ISOWeek.GetWeekOfYear(Date), DayOfWeek.Monday)),
        PeriodKind.Month => new DateOnly(Day.Year, Day.Month, 1),
        PeriodKind.Year => new DateOnly(Day.Year, 1, 1),
        _ => DateOnly.MinValue,
    };

    /// <summary>
    /// The key of the local hour a moment (in the site's local offset, as events carry it) falls in: its start with the
    /// offset, <c>2026-11-29T14:00+07:00</c>. With the offset, the hour that a daylight-saving change repeats is two keys.
    /// </summary>
    public static string HourKey(DateTimeOffset local) => local.ToString("yyyy-MM-dd'T'HH':00'zzz", CultureInfo.InvariantCulture);

    /// <summary>The local hour a moment falls in, as [start, end).</summary>
    public static (DateTimeOffset Start, DateTimeOffset End) HourOf(DateTimeOffset local)
    {
        var start = new DateTimeOffset(local.Year, local.Month, local.Day, local.Hour, 0, 0, local.Offset);
        return (start, start.AddHours(1));
    }

    /// <summary>
    /// The key of the local ten minutes a moment (in the site's local offset) falls in: their start with the offset,
    /// <c>2026-11-29T14:20+07:00</c>. Within an hour the keys sort as their moments do.
    /// </summary>
    public static string TenMinutesKey(DateTimeOffset local) =>
        TenMinutesOf(local).Start.ToString("yyyy-MM-dd'T'HH':'mmzzz", CultureInfo.InvariantCulture);

    /// <summary>The local ten minutes a moment falls in (:00–:10, :10–:20, …), as [start, end).</summary>
    public static (DateTimeOffset Start, DateTimeOffset End) TenMinutesOf(DateTimeOffset local)
    {
        var start = new DateTimeOffset(local.Year, local.Month, local.Day, local.Hour, local.Minute / 10 * 10, 0, local.Offset);
        return (start, start.AddMinutes(10));
    }

    /// <summary>
    /// The local date of a period within one day (a day, an hour, ten minutes), which its key begins with; null for the
    /// periods that span days.
    /// </summary>
    public static DateOnly? DayOf(PeriodKind kind, string periodKey) => kind is PeriodKind.Day or PeriodKind.Hour or PeriodKind.TenMinutes
        ? DateOnly.ParseExact(periodKey.AsSpan(0, 10), "yyyy-MM-dd", CultureInfo.InvariantCulture)
        : null;

    private DateTime Date => Day.ToDateTime(TimeOnly.MinValue);
}

/// <summary>Where instants fall in a site's time zone, daylight saving included.</summary>
public static class SiteCalendar
{
    /// <summary>The instant in the zone's local offset, as the contract writes times.</summary>
    public static DateTimeOffset ToLocal(DateTimeOffset instant, TimeZoneInfo zone) => TimeZoneInfo.ConvertTime(instant, zone);

    /// <summary>The local date of an instant in the zone.</summary>
    public static DateOnly LocalDay(DateTimeOffset instant, TimeZoneInfo zone) => DateOnly.FromDateTime(ToLocal(instant, zone).DateTime);

    /// <summary>
    /// The first instant of a local date. Where midnight does not exist (a daylight-saving jump at 00:00)
    /// the day starts when the clocks resume; where it exists twice, at the first.
    /// </summary>
    public static DateTimeOffset StartOf(DateOnly day, TimeZoneInfo zone)
    {
        var local = day.ToDateTime(TimeOnly.MinValue, DateTimeKind.Unspecified);
        while (zone.IsInvalidTime(local))
        {
            local = local.AddMinutes(1);
        }

        var offset = zone.IsAmbiguousTime(local) ? zone.GetAmbiguousTimeOffsets(local).Max() : zone.GetUtcOffset(local);
        return new DateTimeOffset(local, offset);
    }
}
