using System.Globalization;
using System.Net;
using System.Text;
using CCHC.Stats.Api.Counters;
using CCHC.Stats.Api.Sites;

namespace CCHC.Stats.Api.Operations;

/// <summary>
/// <c>GET /dashboard</c>: a live page for operators, rendered on the server from what this node holds in
/// memory (no script, no external assets; the page reloads itself every 10 s). Views per minute and refusals
/// are this node's since it started; counters, lag, backlog and dead letters are the whole pipeline's.
/// </summary>
public static class Dashboard
{
    public const int RefreshSeconds = 10;

    private static readonly string[] Reasons =
        [RefusalReason.Bot, RefusalReason.RateLimited, RefusalReason.HostNotAllowed, RefusalReason.Invalid, RefusalReason.Unavailable];

    public static IResult Handle(StatsMetrics metrics, LiveCounters live, SiteDirectory sites, PipelineMonitor monitor, TimeProvider clock)
    {
        var state = monitor.State;
        var perMinute = metrics.AcceptedPerMinute;
        var snapshots = live.All.OrderBy(s => s.Counters.SiteId, StringComparer.Ordinal).ToList();
        var names = sites.Known.ToDictionary(s => s.Id, s => s.Name);
        var refused = metrics.RefusedSoFar;

        var html = new StringBuilder();
        html.Append($$"""
            <!doctype html><html lang="en"><head><meta charset="utf-8">
            <meta http-equiv="refresh" content="{{RefreshSeconds}}"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>CCHC.Stats — operators</title>
            <style>
            body{margin:0;font-family:Arial,sans-serif;background:#f4f5f7;color:#1f2937}
            header{background:#a31d24;color:#fff;padding:.8rem 1.5rem}header h1{margin:0;font-size:1.3rem}
            main{padding:1rem 1.5rem;max-width:80rem;margin:auto}
            .cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(11rem,1fr));gap:.8rem}
            .card{background:#fff;border-radius:4px;padding:.7rem 1rem}.card b{display:block;font-size:1.5rem}
            .bad b{color:#b91c1c}section{background:#fff;border-radius:4px;padding:.8rem 1rem;margin-top:1rem}
            table{border-collapse:collapse;width:100%}th,td{text-align:right;padding:.3rem .5rem;border-bottom:1px solid #e5e7eb}
            th:first-child,td:first-child{text-align:left}svg{width:100%;height:auto}
            </style></head><body>
            <header><h1>CCHC.Stats — operators</h1></header><main>
            <div class="cards">
            """);
        Card(html, "Views this minute", perMinute[^1].Views, false, "views-per-minute");
        Card(html, "Online now (all sites)", snapshots.Sum(s => s.Counters.Online), false, "online");
        Card(html, "Projection lag (events)", state.LagEvents, state.ProjectionStalled, "lag-events");
        html.Append(CultureInfo.InvariantCulture, $"""<div class="card{(state.LagSeconds > 5 ? " bad" : "")}" id="lag-seconds">Projection lag<b>{state.LagSeconds:F1} s</b></div>""");
        Card(html, "Waiting to commit", state.Backlog, state.Backlog > 10_000, "backlog");
        Card(html, "Dead letters", state.DeadLetters, state.DeadLetters > 0, "dead-letters");
        html.Append($"""<div class="card{(state.DatabaseReachable ? "" : " bad")}" id="database">PostgreSQL<b>{(state.DatabaseReachable ? "up" : "DOWN")}</b></div>""");
        html.Append($"""<div class="card" id="projection-node">Projection<b>{(state.RunsProjections ? "runs here" : "on another node")}</b></div>""");
        html.Append("</div>");

        html.Append("<section><h2>Views accepted per minute, last hour (this node)</h2>");
        Chart(html, perMinute);
        html.Append("</section>");

        html.Append("""<section><h2>Sites today</h2><table id="sites"><thead><tr><th>Site</th><th>Online</th><th>Page views</th><th>Visits</th><th>Visitors</th>""");
        foreach (var reason in Reasons)
        {
            html.Append($"<th>Refused: {reason.Replace('_', ' ')}</th>");
        }

        html.Append("</tr></thead><tbody>");
        foreach (var snapshot in snapshots)
        {
            var c = snapshot.Counters;
            var name = names.GetValueOrDefault(c.SiteId, c.SiteId);
            html.Append(CultureInfo.InvariantCulture,
                $"""<tr data-site="{Encode(c.SiteId)}"><td title="{Encode(name)}">{Encode(c.SiteId)}</td><td>{c.Online:N0}</td><td>{c.Day.PageViews:N0}</td><td>{c.Day.Visits:N0}</td><td>{c.Day.Visitors ?? 0:N0}</td>""");
            foreach (var reason in Reasons)
            {
                html.Append(CultureInfo.InvariantCulture, $"<td>{refused.GetValueOrDefault((c.SiteId, reason)):N0}</td>");
            }

            html.Append("</tr>");
        }

        html.Append(CultureInfo.InvariantCulture,
            $"</tbody></table><p>Refusals are counted by this node since it started. Read at {clock.GetUtcNow():yyyy-MM-dd HH:mm:ss} UTC.</p></section></main></body></html>");
        return Results.Content(html.ToString(), "text/html; charset=utf-8");
    }

    private static void Card(StringBuilder html, string label, long value, bool bad, string id) =>
        html.Append(CultureInfo.InvariantCulture, $"""<div class="card{(bad ? " bad" : "")}" id="{id}">{label}<b>{value:N0}</b></div>""");

    /// <summary>An inline SVG bar chart: one bar a minute, scaled to the busiest minute.</summary>
    private static void Chart(StringBuilder html, IReadOnlyList<(DateTimeOffset Minute, long Views)> perMinute)
    {
        const int width = 720, height = 160, bar = width / 60;
        var max = Math.Max(1, perMinute.Max(p => p.Views));
        html.Append(CultureInfo.InvariantCulture, $"""<svg id="views-chart" viewBox="0 0 {width} {height + 20}" role="img" aria-label="Views per minute">""");
        for (var i = 0; i < perMinute.Count; i++)
        {
            var h = (int)Math.Round(perMinute[i].Views * (double)height / max);
            html.Append(CultureInfo.InvariantCulture,
                $"""<rect x="{i * bar}" y="{height - h}" width="{bar - 2}" height="{h}" fill="#a31d24"><title>{perMinute[i].Minute:HH:mm} UTC: {perMinute[i].Views:N0}</title></rect>""");
        }

        html.Append(CultureInfo.InvariantCulture,
            $"""<text x="0" y="{height + 15}" font-size="11">{perMinute[0].Minute:HH:mm}</text><text x="{width - 40}" y="{height + 15}" font-size="11">{perMinute[^1].Minute:HH:mm}</text><text x="{width / 2 - 40}" y="12" font-size="11">max {max:N0}/min</text></svg>""");
    }

    private static string Encode(string text) => WebUtility.HtmlEncode(text);
}
