using System.Globalization;
using System.Net;
using System.Text;
using CCHC.Stats.Api.Counters;
using CCHC.Stats.Api.Groups;
using CCHC.Stats.Api.Hosting;
using CCHC.Stats.Api.Pages;
using CCHC.Stats.Api.Sites;
using CCHC.Stats.Contracts;
using Npgsql;

namespace CCHC.Stats.Api.Traffic;

/// <summary>
/// <c>GET /sites/{siteId}/stats[?lang=en]</c>: a site's public statistics page ("Thống kê"), rendered on the server from the
/// same reads as the API (the live counters, <see cref="GetSeries"/>, <see cref="PageCounts"/>, <see cref="GetSources"/>):
/// views per hour today, per day of this month and per month of this year as inline SVG, the month's most-read pages and
/// its sources, and the groups the site belongs to. No script, nothing from elsewhere; colours follow the reader's night
/// mode and every size is in <c>rem</c>, so larger fonts enlarge the page. Readable as the site's <c>publishStats</c> says
/// (a 403 page otherwise).
/// </summary>
public static class StatsPage
{
    /// <summary>The page's words, Vietnamese first.</summary>
    private static readonly Dictionary<string, (string Vi, string En)> Words = new()
    {
        ["title"] = ("Thống kê truy cập", "Visitor statistics"),
        ["online"] = ("Đang truy cập", "Online now"),
        ["today"] = ("Hôm nay", "Today"),
        ["month"] = ("Tháng này", "This month"),
        ["total"] = ("Tổng số truy cập", "All time"),
        ["pageViews"] = ("lượt xem", "page views"),
        ["visits"] = ("lượt truy cập", "visits"),
        ["visitors"] = ("người xem", "visitors"),
        ["hours"] = ("Lượt xem theo giờ hôm nay", "Page views per hour today"),
        ["days"] = ("Lượt xem theo ngày trong tháng", "Page views per day this month"),
        ["months"] = ("Lượt xem theo tháng trong năm", "Page views per month this year"),
        ["top"] = ("Tin đọc nhiều trong tháng", "Most read this month"),
        ["sources"] = ("Nguồn truy cập trong tháng", "Where this month's visits came from"),
        ["groups"] = ("Thuộc nhóm", "In groups"),
        ["none"] = ("Chưa có số liệu.", "Nothing yet."),
        ["direct"] = ("Truy cập trực tiếp", "Direct"),
        ["at"] = ("Số liệu lúc", "Figures as of"),
        ["forbidden"] = ("Trang thống kê này chưa được công khai.", "This site does not publish its statistics."),
        ["busy"] = ("Số liệu đang được tính lại; xin mời quay lại sau ít phút.", "The figures are being recounted; please come back in a few minutes."),
    };

    public static async Task<IResult> Handle(KnownSite? site, string? lang, HttpContext http, LiveCounters live, LiveCounterRefresher refresher,
        CountStore counts, SiteHours siteHours, PageCounts pages, GroupCounters groupCounters, GroupDirectory groups, NpgsqlDataSource database, TimeProvider clock,
        CancellationToken ct)
    {
        var english = lang == "en";
        string T(string word) => english ? Words[word].En : Words[word].Vi;
        if (PublishedStats.Check(http, site!.Site) is not null)
        {
            return Page(http, StatusCodes.Status403Forbidden, english, site.Site.Name, $"<p class=\"note\">{T("forbidden")}</p>", isPublic: false);
        }

        var counters = live.TryGet(site.Id, out var shown) ? shown : await refresher.RefreshOneAsync(site.Site, ct);
        var now = clock.GetUtcNow();
        var today = SiteCalendar.LocalDay(now, site.Zone);
        var monthStart = new DateOnly(today.Year, today.Month, 1);
        var top = (await pages.TopAsync(site, PeriodKind.Month, 10))?.Figures;
        if (counters is null || top is null || live.Rebuilding)
        {
            http.Response.Headers.RetryAfter = "60";
            return Page(http, StatusCodes.Status503ServiceUnavailable, english, site.Site.Name, $"<p class=\"note\">{T("busy")}</p>", isPublic: false);
        }

        var hours = await GetSeries.PointsAsync(site, "hour", SiteCalendar.StartOf(today, site.Zone), SiteCalendar.StartOf(today.AddDays(1), site.Zone), counts, siteHours, ct);
        var days = await GetSeries.PointsAsync(site, "day", SiteCalendar.StartOf(monthStart, site.Zone), SiteCalendar.StartOf(monthStart.AddMonths(1), site.Zone), counts, siteHours, ct);
        var months = await GetSeries.PointsAsync(site, "month", SiteCalendar.StartOf(new DateOnly(today.Year, 1, 1), site.Zone),
            SiteCalendar.StartOf(new DateOnly(today.Year + 1, 1, 1), site.Zone), counts, siteHours, ct);
        var sources = (await GetSources.LiveAsync(site, PeriodKind.Month, today, counts, database, ct))
            .Where(s => s.Value > 0).OrderByDescending(s => s.Value).ThenBy(s => s.Key, StringComparer.Ordinal).Take(15).ToList();

        var culture = CultureInfo.GetCultureInfo(english ? "en-US" : "vi-VN");
        string N(long value) => value.ToString("N0", culture);
        var c = counters.Counters;
        var html = new StringBuilder();
        html.Append("<div class=\"cards\">");
        Card(html, "online", T("online"), N(c.Online), "");
        Card(html, "today", T("today"), N(c.Day.PageViews), $"{T("pageViews")} · {N(c.Day.Visits)} {T("visits")} · {N(c.Day.Visitors ?? 0)} {T("visitors")}");
        Card(html, "month", T("month"), N(c.Month.PageViews), $"{T("pageViews")} · {N(c.Month.Visits)} {T("visits")}");
        Card(html, "total", T("total"), N(c.Total.Visits), $"{T("visits")} · {N(c.Total.PageViews)} {T("pageViews")}");
        html.Append("</div>");

        Chart(html, "hours", T("hours"), hours.Select(p => (p.Start.ToString("HH", culture) + "h", p.PageViews)).ToList(), N);
        Chart(html, "days", T("days"), days.Select(p => (p.Start.Day.ToString(culture), p.PageViews)).ToList(), N);
        Chart(html, "months", T("months"), months.Select(p => ((english ? "" : "T") + p.Start.Month.ToString(culture), p.PageViews)).ToList(), N);

        html.Append("<div class=\"two\">");
        html.Append(CultureInfo.InvariantCulture, $"<section id=\"top\"><h2>{T("top")}</h2>");
        if (top.Pages.Count == 0)
        {
            html.Append(CultureInfo.InvariantCulture, $"<p class=\"note\">{T("none")}</p>");
        }
        else
        {
            html.Append("<ol>");
            foreach (var page in top.Pages)
            {
                html.Append(CultureInfo.InvariantCulture,
                    $"<li><span class=\"name\" title=\"{Encode(page.Page)}\">{Encode(page.Title ?? page.Page)}</span> <b>{N(page.PageViews)}</b></li>");
            }

            html.Append("</ol>");
        }

        html.Append(CultureInfo.InvariantCulture, $"</section><section id=\"sources\"><h2>{T("sources")}</h2>");
        if (sources.Count == 0)
        {
            html.Append(CultureInfo.InvariantCulture, $"<p class=\"note\">{T("none")}</p>");
        }
        else
        {
            var most = sources.Max(s => s.Value);
            html.Append("<table>");
            foreach (var (source, visits) in sources)
            {
                var name = source == VisitSource.Direct ? T("direct") : source;
                html.Append(CultureInfo.InvariantCulture,
                    $"<tr data-source=\"{Encode(source)}\"><th scope=\"row\">{Encode(name)}</th><td class=\"bar\"><span style=\"width:{Math.Max(1, visits * 100 / most)}%\"></span></td><td>{N(visits)}</td></tr>");
            }

            html.Append("</table>");
        }

        html.Append("</section></div>");

        var ofSite = groups.Known.Where(g => g.Sites.Contains(site.Id)).OrderBy(g => g.Id, StringComparer.Ordinal).ToList();
        if (ofSite.Count > 0)
        {
            html.Append(CultureInfo.InvariantCulture, $"<section id=\"groups\"><h2>{T("groups")}</h2><table>");
            foreach (var group in ofSite)
            {
                var figures = groupCounters.TryGet(group.Id, out var snapshot) ? snapshot : await groupCounters.RefreshAsync(group, ct);
                if (figures is not null)
                {
                    var g = figures.Counters;
                    html.Append(CultureInfo.InvariantCulture,
                        $"<tr data-group=\"{Encode(group.Id)}\"><th scope=\"row\">{Encode(group.Name)}</th><td>{T("online")}: {N(g.Online)}</td><td>{T("today")}: {N(g.Day.PageViews)} {T("pageViews")}</td><td>{T("total")}: {N(g.Total.Visits)}</td></tr>");
                }
            }

            html.Append("</table></section>");
        }

        html.Append(CultureInfo.InvariantCulture,
            $"<p class=\"note\">{T("at")} {SiteCalendar.ToLocal(now, site.Zone).ToString("HH:mm dd/MM/yyyy", culture)} ({Encode(site.Site.TimeZone)}).</p>");
        return Page(http, StatusCodes.Status200OK, english, site.Site.Name, html.ToString(), isPublic: site.Site.PublishStats);
    }

    private static void Card(StringBuilder html, string id, string label, string value, string detail) =>
        html.Append(CultureInfo.InvariantCulture, $"<div class=\"card\" id=\"{id}\"><span>{label}</span><b>{value}</b><small>{detail}</small></div>");

    private static void Chart(StringBuilder html, string id, string title, IReadOnlyList<(string Label, long Value)> bars, Func<long, string> number)
    {
        html.Append(CultureInfo.InvariantCulture, $"<section id=\"{id}\"><h2>{title}</h2>");
        SvgBars.Append(html, $"{id}-chart", title, bars, number);
        html.Append("</section>");
    }

    private static IResult Page(HttpContext http, int status, bool english, string siteName, string body, bool isPublic)
    {
        var title = $"{(english ? Words["title"].En : Words["title"].Vi)} — {siteName}";
        http.Response.Headers.CacheControl = $"{(isPublic ? "public" : "private")}, max-age=30";
        return Results.Content($$"""
            <!doctype html><html lang="{{(english ? "en" : "vi")}}"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1"><meta name="color-scheme" content="light dark">
            <title>{{Encode(title)}}</title>
            <style>
            :root{--bg:#f4f5f7;--panel:#fff;--fg:#1f2937;--muted:#5b6472;--line:#d6dde6;--accent:#a31d24;--bar:#a31d24}
            @media (prefers-color-scheme:dark){:root{--bg:#14171b;--panel:#1f242b;--fg:#e6e9ee;--muted:#a9b1bd;--line:#3a414b;--accent:#e0565d;--bar:#e0565d} }
            body{margin:0;font-family:system-ui,Arial,sans-serif;font-size:1rem;line-height:1.5;background:var(--bg);color:var(--fg)}
            header{background:var(--accent);color:#fff;padding:.8rem 1.5rem}header h1{margin:0;font-size:1.4rem}
            main{padding:1rem 1.5rem;max-width:60rem;margin:auto}
            section,.card{background:var(--panel);border:1px solid var(--line);border-radius:.3rem;padding:.8rem 1rem;margin-top:1rem}
            h2{font-size:1.1rem;margin:0 0 .5rem}
            .cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(12rem,1fr));gap:.8rem}.card{margin:0}
            .card span{display:block;color:var(--muted)}.card b{display:block;font-size:1.8rem;font-variant-numeric:tabular-nums}.card small{color:var(--muted)}
            .two{display:grid;grid-template-columns:repeat(auto-fit,minmax(22rem,1fr));gap:0 1rem}
            svg{width:100%;height:auto}svg .bar{fill:var(--bar)}svg .axis{fill:var(--muted);font-size:11px}
            ol{margin:0;padding-left:1.5rem}li{display:flex;justify-content:space-between;gap:1rem;padding:.15rem 0;border-bottom:1px dotted var(--line)}
            li .name{overflow-wrap:anywhere}table{width:100%;border-collapse:collapse}th{text-align:left;font-weight:normal;overflow-wrap:anywhere}
            td,th{padding:.2rem .4rem;border-bottom:1px dotted var(--line)}td{text-align:right;font-variant-numeric:tabular-nums}
            td.bar{width:40%}td.bar span{display:block;height:.7rem;background:var(--bar);border-radius:.2rem}
            .note{color:var(--muted)}
            </style></head><body>
            <header><h1>{{Encode(title)}}</h1></header><main>
            {{body}}
            </main></body></html>
            """, "text/html; charset=utf-8", Encoding.UTF8, status);
    }

    private static string Encode(string text) => WebUtility.HtmlEncode(text);
}
