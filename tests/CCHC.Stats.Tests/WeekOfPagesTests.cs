using CCHC.Stats.Api.Pages;
using CsCheck;

namespace CCHC.Stats.Tests;

/// <summary>
/// A live most-read list of a week or longer is its page views before today, ranked, with today's rows added (<see cref="ClosedPart"/>):
/// against a naive reference that adds every page's views and ranks them all.
/// </summary>
public sealed class WeekOfPagesTests
{
    private static readonly Gen<List<(string Page, long Views)>> Pages =
        Gen.Dictionary(Gen.Int[0, 40].Select(n => $"/p{n}"), Gen.Long[1, 6])[0, 30].Select(d => d.Select(p => (p.Key, p.Value)).ToList());

    [Fact]
    public void the_merged_list_is_the_naive_ranking_of_the_summed_pages()
    {
        Gen.Select(Pages, Pages, Gen.Int[1, 12]).Sample((closed, today, limit) =>
        {
            var ranked = closed.OrderByDescending(p => p.Views).ThenBy(p => p.Page, StringComparer.Ordinal).ToList();
            var week = new ClosedPart("", 0, 0, ranked);

            var naive = closed.Concat(today).GroupBy(p => p.Page).Select(g => (Page: g.Key, Views: g.Sum(p => p.Views)))
                .OrderByDescending(p => p.Views).ThenBy(p => p.Page, StringComparer.Ordinal).Take(limit).ToList();
            Assert.Equal(naive, week.With(today, limit));
        });
    }

    [Fact]
    public void a_page_read_only_today_or_only_before_keeps_its_views()
    {
        var week = new ClosedPart("", 0, 0, [("/old", 5), ("/both", 2)]);
        Assert.Equal([("/new", 6L), ("/old", 5L), ("/both", 3L)], week.With([("/new", 6), ("/both", 1)], 10));
        Assert.Equal([("/new", 6L)], week.With([("/new", 6), ("/both", 1)], 1));
    }
}
