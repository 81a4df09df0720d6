using CCHC.Stats.Api.Counters;
using CCHC.Stats.Api.Hosting;
using CsCheck;

namespace CCHC.Stats.Tests;

public sealed class CalendarTests
{
    private static readonly TimeZoneInfo Hanoi = TimeZoneInfo.FindSystemTimeZoneById("Asia/Ho_Chi_Minh");
    private static readonly TimeZoneInfo Berlin = TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin");

    [Theory]
    [InlineData("2025-12-31", "2026-W01", "2025-12", "2025")]
    [InlineData("2026-01-01", "2026-W01", "2026-01", "2026")]
    [InlineData("2027-01-01", "2026-W53", "2027-01", "2027")]
    [InlineData("2027-01-03", "2026-W53", "2027-01", "2027")]
    [InlineData("2027-01-04", "2027-W01", "2027-01", "2027")]
    [InlineData("2021-01-03", "2020-W53", "2021-01", "2021")]
    [InlineData("2024-12-30", "2025-W01", "2024-12", "2024")]
    [InlineData("2026-11-29", "2026-W48", "2026-11", "2026")]
    [InlineData("2026-11-30", "2026-W49", "2026-11", "2026")]
    [InlineData("2024-02-29", "2024-W09", "2024-02", "2024")]
    public void period_keys_follow_iso_weeks_and_calendar_months(string day, string week, string month, string year)
    {
        var keys = new PeriodKeys(DateOnly.Parse(day));

        Assert.Equal(day, keys.Key(PeriodKind.Day));
        Assert.Equal(week, keys.Key(PeriodKind.Week));
        Assert.Equal(month, keys.Key(PeriodKind.Month));
        Assert.Equal(year, keys.Key(PeriodKind.Year));
        Assert.Equal("all", keys.Key(PeriodKind.Total));
    }

    [Theory]
    [InlineData("2026-11-29", "2026-11-23")]
    [InlineData("2026-11-23", "2026-11-23")]
    [InlineData("2025-12-31", "2025-12-29")]
    [InlineData("2027-01-03", "2026-12-28")]
    public void a_week_starts_on_monday(string day, string monday)
    {
        Assert.Equal(DateOnly.Parse(monday), new PeriodKeys(DateOnly.Parse(day)).FirstDay(PeriodKind.Week));
    }

    [Theory]
    [InlineData("2026-11-29T16:59:59Z", "2026-11-29")]
    [InlineData("2026-11-29T17:00:00Z", "2026-11-30")]
    [InlineData("2025-12-31T16:59:59.999Z", "2025-12-31")]
    [InlineData("2025-12-31T17:00:00Z", "2026-01-01")]
    public void midnight_is_the_sites_midnight(string instant, string localDay)
    {
        Assert.Equal(DateOnly.Parse(localDay), SiteCalendar.LocalDay(DateTimeOffset.Parse(instant), Hanoi));
    }

    [Fact]
    public void a_day_in_hanoi_starts_at_17_utc_the_day_before()
    {
        Assert.Equal(DateTimeOffset.Parse("2026-11-28T17:00:00Z"), SiteCalendar.StartOf(new DateOnly(2026, 11, 29), Hanoi));
    }

    [Theory]
    [InlineData("2026-03-29", "2026-03-28T23:00:00Z", 23)] // spring forward: a 23-hour day
    [InlineData("2026-10-25", "2026-10-24T22:00:00Z", 25)] // fall back: a 25-hour day
    [InlineData("2026-06-01", "2026-05-31T22:00:00Z", 24)]
    public void days_in_a_zone_with_daylight_saving_have_their_true_length(string day, string startUtc, int hours)
    {
        var date = DateOnly.Parse(day);
        var start = SiteCalendar.StartOf(date, Berlin);
        var next = SiteCalendar.StartOf(date.AddDays(1), Berlin);

        Assert.Equal(DateTimeOffset.Parse(startUtc), start);
        Assert.Equal(TimeSpan.FromHours(hours), next - start);
    }

    [Fact]
    public void where_midnight_does_not_exist_the_day_starts_when_clocks_resume()
    {
        // Chile (America/Santiago) moved its clocks forward at 00:00 on 2024-09-08.
        var santiago = TimeZoneInfo.FindSystemTimeZoneById("America/Santiago");

        var start = SiteCalendar.StartOf(new DateOnly(2024, 9, 8), santiago);

        Assert.Equal(new DateTimeOffset(2024, 9, 8, 1, 0, 0, TimeSpan.FromHours(-3)), start);
        Assert.Equal(new DateOnly(2024, 9, 8), SiteCalendar.LocalDay(start, santiago));
        Assert.Equal(new DateOnly(2024, 9, 7), SiteCalendar.LocalDay(start.AddTicks(-1), santiago));
    }

    [Fact]
    public void every_instant_of_a_year_falls_in_the_day_whose_bounds_contain_it()
    {
        var random = new Random(20261129);
        foreach (var zone in new[] { Hanoi, Berlin, TimeZoneInfo.FindSystemTimeZoneById("America/Santiago") })
        {
            for (var i = 0; i < 2000; i++)
            {
                var instant = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero).AddSeconds(random.Next(0, 366 * 24 * 3600));
                var day = SiteCalendar.LocalDay(instant, zone);

                Assert.InRange(instant, SiteCalendar.StartOf(day, zone), SiteCalendar.StartOf(day.AddDays(1), zone).AddTicks(-1));
            }
        }
    }

    [Fact]
    public void a_moments_ten_minutes_are_keyed_by_their_local_start_within_its_hour()
    {
        var local = new DateTimeOffset(2026, 11, 29, 14, 29, 59, TimeSpan.FromHours(7));

        Assert.Equal("2026-11-29T14:20+07:00", PeriodKeys.TenMinutesKey(local));
        Assert.Equal((local.AddSeconds(-599), local.AddSeconds(1)), PeriodKeys.TenMinutesOf(local));
        Assert.Equal(PeriodKeys.HourKey(local)[..13], PeriodKeys.TenMinutesKey(local)[..13]);
    }

    /// <summary>
    /// A period within a day is of the local date of every moment in it, whatever the zone (a rebuild sorts its count rows
    /// by site-day with it); the periods that span days have none.
    /// </summary>
    [Fact]
    public void a_period_within_a_day_is_of_its_moments_local_date_and_longer_ones_of_none()
    {
        Gen.Select(Gen.Int[0, 3 * 366 * 24 * 60], Gen.OneOf(Berlin, TimeZoneInfo.FindSystemTimeZoneById("Asia/Ho_Chi_Minh"))).Sample((minutes, zone) =>
        {
            var local = TimeZoneInfo.ConvertTime(new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero).AddMinutes(minutes), zone);
            var day = DateOnly.FromDateTime(local.DateTime);
            Assert.Equal(day, PeriodKeys.DayOf(PeriodKind.Hour, PeriodKeys.HourKey(local)));
            Assert.Equal(day, PeriodKeys.DayOf(PeriodKind.TenMinutes, PeriodKeys.TenMinutesKey(local)));
            Assert.Equal(day, PeriodKeys.DayOf(PeriodKind.Day, new PeriodKeys(day).Key(PeriodKind.Day)));
            Assert.All([PeriodKind.Week, PeriodKind.Month, PeriodKind.Year, PeriodKind.Total],
                kind => Assert.Null(PeriodKeys.DayOf(kind, new PeriodKeys(day).Key(kind))));
        });
    }

    /// <summary>
    /// The index's bounds for a read between two moments hold every moment between them, as its view's local time is
    /// written, over the night Berlin's clocks go back (02:00–03:00 twice) and any online window up to an hour long.
    /// </summary>
    [Fact]
    public void the_site_day_indexs_bounds_hold_every_moment_between_two_across_a_fall_back()
    {
        var night = new DateTimeOffset(2026, 10, 24, 23, 0, 0, TimeSpan.Zero);
        Gen.Select(Gen.Int[0, 4 * 3600], Gen.Int[0, 3600], Gen.Int[0, 3600]).Sample((start, length, at) =>
        {
            var from = TimeZoneInfo.ConvertTime(night.AddSeconds(start), Berlin);
            var to = TimeZoneInfo.ConvertTime(night.AddSeconds(start + length), Berlin);
            var moment = TimeZoneInfo.ConvertTime(night.AddSeconds(start + Math.Min(at, length)), Berlin);
            var (low, high) = MartenTables.IndexedLocalRange(from, to);
            var indexed = MartenTables.IndexedLocalTime(moment);
            Assert.True(string.CompareOrdinal(low, indexed) <= 0 && string.CompareOrdinal(indexed, high) <= 0,
                $"{moment:O} ({indexed}) outside [{low}, {high}] for {from:O}–{to:O}");
        });
    }
}
