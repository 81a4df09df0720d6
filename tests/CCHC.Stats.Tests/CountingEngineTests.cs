using System.Globalization;
using CCHC.Stats.Api.Counters;
using CCHC.Stats.Api.Ingestion;
using CCHC.Stats.Api.Traffic;
using CsCheck;

namespace CCHC.Stats.Tests;

/// <summary>
/// The counting engine against a deliberately naive reference written here from the contract's words: generated
/// histories of views, in arbitrary arrival order (late imports), across local midnight, New Year (ISO week-year) and
/// a daylight-saving change. The live projection's <see cref="CounterBook"/> and the recount of raw views
/// (<see cref="DayRecount"/>, behind asOf, verify, the seals and the export) must both agree with it.
/// </summary>
public sealed class CountingEngineTests
{
    /// <summary>A view: its visitor and when, as generated; its sequence is its place in the arrival order.</summary>
    private sealed record View(int Visitor, DateTimeOffset At);

    private static readonly TimeZoneInfo Berlin = TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin");

    private static readonly TimeZoneInfo Hanoi = TimeZoneInfo.FindSystemTimeZoneById("Asia/Ho_Chi_Minh");

    /// <summary>Moments to build histories around: an ordinary day, New Year (2026-W53 → 2027-W53), DST ends, DST begins.</summary>
    private static readonly DateTimeOffset[] Anchors =
    [
        new(2026, 11, 29, 12, 0, 0, TimeSpan.Zero),
        new(2026, 12, 31, 23, 0, 0, TimeSpan.Zero),
        new(2026, 10, 25, 1, 0, 0, TimeSpan.Zero),
        new(2027, 3, 28, 1, 0, 0, TimeSpan.Zero),
    ];

    /// <summary>Up to 60 views by up to 6 visitors within ±20 hours of an anchor, to the second, in arrival order.</summary>
    private static readonly Gen<(TimeZoneInfo Zone, List<View> Views)> Histories =
        Gen.Select(Gen.Bool.Select(b => b ? Berlin : Hanoi), Gen.Int[0, Anchors.Length - 1].Select(i => Anchors[i]),
            Gen.Select(Gen.Int[0, 5], Gen.Int[-20 * 3600, 20 * 3600], Gen.Int[0, 3]).List[1, 60],
            (zone, anchor, views) => (zone, views.Select(v => new View(v.Item1, anchor.AddSeconds(v.Item2 - v.Item2 % (v.Item3 == 0 ? 60 : 1)))).ToList()));

    [Fact]
    public void the_projection_counts_every_period_as_the_contract_defines_it()
    {
        Histories.Sample(history =>
        {
            var (zone, views) = history;
            var book = new CounterBook(new Dictionary<string, VisitorDay>());
            book.ApplyAll(views.Select(v => (object)ViewOf(v, zone)));
            var counted = book.Changes.Where(c => c.Value != default && c.Key.Dimension == CountKey.SiteDimension)
                .ToDictionary(c => (c.Key.Period, c.Key.PeriodKey), c => c.Value);
            var firstSeen = Reference(views, zone, firstVisitors: true);

            var expected = Reference(views, zone);
            Assert.Equal(expected.Keys.Order(), counted.Keys.Order());
            foreach (var (period, figures) in expected)
            {
                Assert.Equal(figures, (counted[period].PageViews, counted[period].Visits, counted[period].Visitors));
                Assert.Equal(period.Item1 is PeriodKind.Hour or PeriodKind.TenMinutes ? firstSeen[period].Visitors : 0, counted[period].FirstVisitors);
            }
        });
    }

    /// <summary>Ways one page is linked to: another host, a trailing slash, share buttons' tracking, a fragment.</summary>
    private static readonly string[] Spellings = ["https://example.gov.vn/p{0}", "https://www.example.gov.vn/p{0}/", "http://example.gov.vn/p{0}?utm_source=zalo&zarsrc=30",
        "https://example.gov.vn/p{0}?fbclid=x#top"];

    [Fact]
    public void each_page_counts_its_views_in_its_stored_periods_and_the_pages_add_up_to_the_site_less_its_baselines_in_every_period()
    {
        var pageViews = Gen.Select(Histories, Gen.Select(Gen.Int[0, 4], Gen.Int[0, Spellings.Length - 1]).List[60], Gen.Int[0, 60], Gen.Long[0, 1000]);
        pageViews.Sample(sample =>
        {
            var ((zone, views), links, baselineAt, baselineViews) = sample;
            var facts = new List<object>();
            var expected = new Dictionary<(PeriodKind, string, string), long>();
            for (var i = 0; i < views.Count; i++)
            {
                var (page, spelling) = links[i];
                var view = ViewOf(views[i], zone) with { Url = string.Format(CultureInfo.InvariantCulture, Spellings[spelling], page) };
                facts.Add(view);
                foreach (var (kind, key) in PeriodKeys.AllKinds.Where(CountKey.IsStoredByDay).Select(k => (k, new PeriodKeys(view.Day).Key(k))))
                {
                    expected[(kind, key, $"/p{page}")] = expected.GetValueOrDefault((kind, key, $"/p{page}")) + 1;
                }

                if (i == baselineAt)
                {
                    // Baselines, of the site and of a page, anywhere in the history: they change no page's counted views.
                    var figures = new BaselineCounts(baselineViews, baselineViews, baselineViews, baselineViews, baselineViews);
                    facts.Add(new BaselineRecorded("site", view.OccurredAt, view.Day, figures, figures, view.OccurredAt));
                    facts.Add(new CCHC.Stats.Api.Pages.PageBaselineRecorded("site", view.OccurredAt, view.Day, view.Url, "/p0", baselineViews, null, view.OccurredAt));
                }
            }

            var book = new CounterBook(new Dictionary<string, VisitorDay>());
            book.ApplyAll(facts);

            var pages = book.Changes.Where(c => c.Key.Dimension == CountKey.PageDimension && c.Value.PageViews != 0)
                .ToDictionary(c => (c.Key.Period, c.Key.PeriodKey, c.Key.Key), c => c.Value.PageViews);
            Assert.Equal(expected.OrderBy(e => e.Key), pages.OrderBy(e => e.Key));
            // A page's week is its days: the pages' views of a week are those of its days.
            foreach (var site in book.Changes.Where(c => c.Key.Dimension == CountKey.SiteDimension && c.Key.Period is not (PeriodKind.Hour or PeriodKind.TenMinutes)))
            {
                var ofPages = book.Changes.Where(c => c.Key.Dimension == CountKey.PageDimension && (site.Key.Period == PeriodKind.Week
                        ? c.Key.Period == PeriodKind.Day && new PeriodKeys(DateOnly.ParseExact(c.Key.PeriodKey, "yyyy-MM-dd", CultureInfo.InvariantCulture))
                            .Key(PeriodKind.Week) == site.Key.PeriodKey
                        : c.Key.Period == site.Key.Period && c.Key.PeriodKey == site.Key.PeriodKey))
                    .Sum(c => c.Value.PageViews);
                Assert.Equal(site.Value.ShownPageViews - site.Value.BaselinePageViews, ofPages);
            }

            var pageBaselines = book.Changes.Where(c => c.Key.Dimension == CountKey.PageDimension && c.Value.BaselinePageViews != 0).ToList();
            Assert.All(pageBaselines, c => Assert.Equal((PeriodKind.Total, "/p0", baselineViews), (c.Key.Period, c.Key.Key, c.Value.BaselinePageViews)));
        });
    }

    /// <summary>Referrers a view may carry: none, the site's own pages, engines and networks, another site.</summary>
    private static readonly string?[] Referrers =
        [null, "https://example.gov.vn/tin-tuc", "https://www.google.com.vn/", "https://l.facebook.com/l.php?u=x", "https://zalo.me/", "https://baochinhphu.vn/a"];

    [Fact]
    public void a_visit_counts_for_the_source_of_its_first_view_and_the_sources_add_up_to_the_visits()
    {
        Gen.Select(Histories, Gen.Int[0, Referrers.Length - 1].List[60]).Sample(sample =>
        {
            var ((zone, views), referrers) = sample;
            var facts = views.Select((v, i) => ViewOf(v, zone) with { Referrer = Referrers[referrers[i]] }).ToList();
            var book = new CounterBook(new Dictionary<string, VisitorDay>());
            book.ApplyAll(facts);

            // The reference: each visit's first view (by time, then arrival) names its source.
            var expected = new Dictionary<(PeriodKind, string, string), long>();
            foreach (var day in facts.Select((f, i) => (Sequence: (long)i, View: views[i], Fact: f)).GroupBy(x => x.Fact.Day))
            {
                var starts = ReferenceStarts(day.Select(x => (x.Sequence, x.View)).ToList());
                var bySource = day.Where(x => starts.Contains(x.Sequence)).GroupBy(x => VisitSource.Of(x.Fact.Referrer, x.Fact.Url)).ToList();
                foreach (var kind in PeriodKeys.AllKinds.Where(CountKey.IsStoredByDay))
                {
                    foreach (var source in bySource)
                    {
                        var key = (kind, new PeriodKeys(day.Key).Key(kind), source.Key);
                        expected[key] = expected.GetValueOrDefault(key) + source.Count();
                    }
                }

                var recount = DayRecount.Of(day.Select(x => new DayView(x.Sequence, x.Fact.VisitorHash, x.Fact.OccurredAt, VisitSource.Of(x.Fact.Referrer, x.Fact.Url))));
                Assert.Equal(bySource.ToDictionary(g => g.Key, g => (long)g.Count()).OrderBy(e => e.Key), recount.VisitsBySource.OrderBy(e => e.Key));
            }

            var counted = book.Changes.Where(c => c.Key.Dimension == CountKey.SourceDimension && c.Value.Visits != 0)
                .ToDictionary(c => (c.Key.Period, c.Key.PeriodKey, c.Key.Key), c => c.Value.Visits);
            Assert.Equal(expected.OrderBy(e => e.Key), counted.OrderBy(e => e.Key));
            foreach (var site in book.Changes.Where(c => c.Key.Dimension == CountKey.SiteDimension && CountKey.IsStoredByDay(c.Key.Period)))
            {
                Assert.Equal(site.Value.Visits, counted.Where(c => c.Key.Item1 == site.Key.Period && c.Key.Item2 == site.Key.PeriodKey).Sum(c => c.Value));
            }
        });
    }

    [Fact]
    public void a_recount_of_raw_views_gives_the_figures_starts_and_online_of_the_reference()
    {
        Histories.Sample(history =>
        {
            var (zone, views) = history;
            foreach (var day in views.GroupBy(v => LocalDate(v.At, zone)))
            {
                var arrived = day.Select((v, i) => (Sequence: (long)i + 1, View: v)).ToList();
                var recount = DayRecount.Of(arrived.Select(a => new DayView(a.Sequence, $"v{a.View.Visitor}", a.View.At)));

                Assert.Equal(arrived.Count, recount.PageViews);
                Assert.Equal(arrived.Select(a => a.View.Visitor).Distinct().Count(), recount.Visitors);
                var starts = ReferenceStarts(arrived);
                Assert.Equal(starts.Count, recount.Visits);
                Assert.All(arrived, a => Assert.Equal(starts.Contains(a.Sequence), recount.StartedVisit(a.Sequence)));
            }
        });
    }

    [Fact]
    public void the_whole_days_visitor_days_give_the_visits_and_first_visitors_of_an_hour_as_they_stood_at_a_moment_in_it()
    {
        // What asOf reads for its open hour: the visitor-days as the projection keeps them, with every view of the day in
        // them, including views after the moment, arrived in any order. The reference sees only the views up to the moment.
        Gen.Select(Histories, Gen.Int[0, 40 * 3600], Gen.Int[0, 3600]).Sample(sample =>
        {
            var ((zone, views), offset, length) = sample;
            var day = views.GroupBy(v => LocalDate(v.At, zone)).MaxBy(g => g.Count())!.Select((v, i) => (Sequence: (long)i + 1, View: v)).ToList();
            var from = day.Min(a => a.View.At).AddSeconds(offset % 7200);
            var upTo = from.AddSeconds(length);

            var visitorDays = new Dictionary<int, VisitorDay>();
            foreach (var (_, view) in day)
            {
                (visitorDays.TryGetValue(view.Visitor, out var visitorDay) ? visitorDay : visitorDays[view.Visitor] = new VisitorDay()).Add(view.At);
            }

            var soFar = day.Where(a => a.View.At <= upTo).ToList();
            var starts = ReferenceStarts(soFar);
            var seenInIt = soFar.Where(a => a.View.At >= from).Select(a => a.View.Visitor).Distinct().ToList();
            Assert.Equal(soFar.Count(a => a.View.At >= from && starts.Contains(a.Sequence)),
                seenInIt.Sum(v => visitorDays[v].VisitsStartedIn(from, upTo)));
            Assert.Equal(seenInIt.Count(v => soFar.Where(a => a.View.Visitor == v).Min(a => a.View.At) >= from),
                seenInIt.Count(v => visitorDays[v].FirstSeen >= from));
        });
    }

    [Fact]
    public void online_at_a_moment_is_the_visitors_with_a_view_in_the_window_before_it()
    {
        Gen.Select(Histories, Gen.Int[0, 60 * 60], Gen.Int[1, 60]).Sample(sample =>
        {
            var ((zone, views), offset, minutes) = sample;
            var moment = views.Min(v => v.At).AddSeconds(offset);
            var window = OnlineWindow.Before(moment, minutes);
            var upToMoment = views.Where(v => v.At <= moment).Select((v, i) => new DayView(i, $"v{v.Visitor}", v.At));

            var expected = views.Where(v => v.At > moment.AddMinutes(-minutes) && v.At <= moment).Select(v => v.Visitor).Distinct().Count();
            Assert.Equal(expected, DayRecount.Of(upToMoment).OnlineVisitorsIn(window).Count());
        });
    }

    [Fact]
    public void a_view_at_the_edge_of_the_window_is_online_and_one_just_before_it_is_not()
    {
        var moment = Anchors[0];
        var window = OnlineWindow.Before(moment, 5);

        Assert.True(window.Contains(moment));
        Assert.True(window.Contains(moment.AddMinutes(-5).AddTicks(1)));
        Assert.False(window.Contains(moment.AddMinutes(-5)));
        Assert.False(window.Contains(moment.AddTicks(1)));
    }

    private static PageViewed ViewOf(View view, TimeZoneInfo zone)
    {
        var local = TimeZoneInfo.ConvertTime(view.At, zone);
        return new PageViewed("site", local, $"v{view.Visitor}", "https://example.gov.vn/", null, null);
    }

    private static DateOnly LocalDate(DateTimeOffset at, TimeZoneInfo zone) => DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(at, zone).DateTime);

    /// <summary>
    /// The contract, plainly: a visitor's views of a local day sorted by time (then arrival); a view starts a visit when
    /// the visitor's previous view that day is 30 minutes or more before it, or there is none.
    /// </summary>
    private static HashSet<long> ReferenceStarts(List<(long Sequence, View View)> day)
    {
        var starts = new HashSet<long>();
        foreach (var visitor in day.GroupBy(a => a.View.Visitor))
        {
            DateTimeOffset? previous = null;
            foreach (var (sequence, view) in visitor.OrderBy(a => a.View.At).ThenBy(a => a.Sequence))
            {
                if (previous is null || view.At - previous >= TimeSpan.FromMinutes(30))
                {
                    starts.Add(sequence);
                }

                previous = view.At;
            }
        }

        return starts;
    }

    /// <summary>
    /// Every period's figures, by the contract: a view and a visit count in the periods that contain their local date;
    /// distinct visitors for days. And by local hour (its start with the offset: a repeated hour is two): page views,
    /// visits in the hour of their first view, and distinct visitors with a view in the hour (or, with
    /// <paramref name="firstVisitors"/>, distinct visitors whose first view of the day is in the hour). And by local ten
    /// minutes as by hour, with no distinct visitors (with <paramref name="firstVisitors"/>: the day's first-time ones).
    /// </summary>
    private static Dictionary<(PeriodKind, string), (long PageViews, long Visits, long Visitors)> Reference(List<View> views, TimeZoneInfo zone,
        bool firstVisitors = false)
    {
        var figures = new Dictionary<(PeriodKind, string), (long PageViews, long Visits, long Visitors)>();
        foreach (var day in views.GroupBy(v => LocalDate(v.At, zone)))
        {
            var date = day.Key.ToDateTime(TimeOnly.MinValue);
            var dayViews = day.Select((v, i) => ((long)i, v)).ToList();
            var visits = ReferenceStarts(dayViews).Count;
            var keys = new (PeriodKind, string)[]
            {
                (PeriodKind.Day, date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)),
                (PeriodKind.Week, $"{ISOWeek.GetYear(date):D4}-W{ISOWeek.GetWeekOfYear(date):D2}"),
                (PeriodKind.Month, date.ToString("yyyy-MM", CultureInfo.InvariantCulture)),
                (PeriodKind.Year, date.ToString("yyyy", CultureInfo.InvariantCulture)),
                (PeriodKind.Total, "all"),
            };
            foreach (var key in keys)
            {
                var (p, v, u) = figures.GetValueOrDefault(key);
                figures[key] = (p + dayViews.Count, v + visits, u + (key.Item1 == PeriodKind.Day ? day.Select(x => x.Visitor).Distinct().Count() : 0));
            }

            var starts = ReferenceStarts(dayViews);
            var firstViews = dayViews.GroupBy(x => x.v.Visitor).Select(g => g.MinBy(x => x.v.At).Item1).ToHashSet();
            foreach (var hour in dayViews.GroupBy(x => TimeZoneInfo.ConvertTime(x.v.At, zone).ToString("yyyy-MM-dd'T'HH':00'zzz", CultureInfo.InvariantCulture)))
            {
                var visitors = firstVisitors ? hour.Count(x => firstViews.Contains(x.Item1)) : hour.Select(x => x.v.Visitor).Distinct().Count();
                figures[(PeriodKind.Hour, hour.Key)] = (hour.Count(), hour.Count(x => starts.Contains(x.Item1)), visitors);
            }

            // Ten minutes count as hours do, but keep no distinct visitors: only the day's first-time ones.
            foreach (var tenMinutes in dayViews.GroupBy(x =>
                     {
                         var local = TimeZoneInfo.ConvertTime(x.v.At, zone);
                         return local.ToString("yyyy-MM-dd'T'HH':'", CultureInfo.InvariantCulture) + (local.Minute / 10) + "0"
                             + local.ToString("zzz", CultureInfo.InvariantCulture);
                     }))
            {
                var visitors = firstVisitors ? tenMinutes.Count(x => firstViews.Contains(x.Item1)) : 0;
                figures[(PeriodKind.TenMinutes, tenMinutes.Key)] = (tenMinutes.Count(), tenMinutes.Count(x => starts.Contains(x.Item1)), visitors);
            }
        }

        foreach (var key in figures.Where(f => f.Value == default).Select(f => f.Key).ToList())
        {
            figures.Remove(key);
        }

        return figures;
    }
}
