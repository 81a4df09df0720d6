using System.Globalization;
using System.Net;
using System.Text;
using CCHC.Stats.Api.Counters;
using CCHC.Stats.Api.Groups;
using CCHC.Stats.Api.Hosting;
using CCHC.Stats.Api.Sites;

namespace CCHC.Stats.Api.Operations;

/// <summary>
/// <c>GET /dashboard[?lang=en]</c>: a live page for operators, rendered on the server (no script, no external assets; it
/// reloads itself every 10 s), Vietnamese by default, times in Asia/Ho_Chi_Minh. Everything in its <c>&lt;main&gt;</c> is the
/// whole deployment's, read from the store or from what every node reads from it alike, so any node behind a load balancer
/// shows the same page: views per minute and refusals from <see cref="TrafficLog"/>, counters and online from the live
/// counters every node refreshes from the store, lag and dead letters from the event store and Wolverine's tables. What is
/// this node's own (its backlog, whether it runs the projection) is set apart in the footer.
/// </summary>
public static class Dashboard
{
    public const int RefreshSeconds = 10;

    /// <summary>The operators' time zone: Vietnam's.</summary>
    public static readonly TimeZoneInfo Zone = TimeZoneInfo.FindSystemTimeZoneById("Asia/Ho_Chi_Minh");

    private static readonly string[] Reasons =
        [RefusalReason.Bot, RefusalReason.RateLimited, RefusalReason.HostNotAllowed, RefusalReason.Invalid, RefusalReason.Unavailable];

    private static readonly Dictionary<string, (string Vi, string En)> Words = new()
    {
        ["title"] = ("CCHC.Stats — vận hành", "CCHC.Stats — operators"),
        ["minute"] = ("Lượt xem phút này", "Views this minute"),
        ["online"] = ("Đang truy cập (mọi trang)", "Online now (all sites)"),
        ["onlineOne"] = ("Đang truy cập", "Online"),
        ["lagEvents"] = ("Độ trễ tính số (sự kiện)", "Projection lag (events)"),
        ["lag"] = ("Độ trễ tính số", "Projection lag"),
        ["dead"] = ("Thư lỗi (dead letters)", "Dead letters"),
        ["database"] = ("PostgreSQL", "PostgreSQL"),
        ["up"] = ("hoạt động", "up"),
        ["down"] = ("MẤT KẾT NỐI", "DOWN"),
        ["chart"] = ("Lượt xem được nhận mỗi phút, 60 phút qua (toàn hệ thống)", "Views accepted per minute, last hour (whole deployment)"),
        ["sites"] = ("Các trang hôm nay", "Sites today"),
        ["groups"] = ("Các nhóm hôm nay", "Groups today"),
        ["site"] = ("Trang", "Site"),
        ["group"] = ("Nhóm", "Group"),
        ["members"] = ("Thành viên", "Members"),
        ["pageViews"] = ("Lượt xem", "Page views"),
        ["visits"] = ("Lượt truy cập", "Visits"),
        ["visitors"] = ("Người xem", "Visitors"),
        ["refused"] = ("Từ chối", "Refused"),
        ["refusedNote"] = ("Số lượt bị từ chối trong 60 phút qua, của mọi nút.", "Views refused in the last 60 minutes, by every node."),
        ["node"] = ("Nút này", "This node"),
        ["backlog"] = ("chờ ghi", "waiting to commit"),
        ["runsHere"] = ("chạy tính số", "runs the projection"),
        ["elsewhere"] = ("tính số ở nút khác", "projection on another node"),
        ["readAt"] = ("Đọc lúc", "Read at"),
        [RefusalReason.Bot] = ("bot", "bot"),
        [RefusalReason.RateLimited] = ("quá nhanh", "rate limited"),
        [RefusalReason.HostNotAllowed] = ("sai tên miền", "host not allowed"),
        [RefusalReason.Invalid] = ("không hợp lệ", "invalid"),
        [RefusalReason.Unavailable] = ("quá tải", "unavailable"),
    };

    public static async Task<IResult> Handle(string? lang, TrafficLog traffic, LiveCounters live, SiteDirectory sites, GroupCounters groupCounters,
        GroupDirectory groups, PipelineMonitor monitor, TimeProvider clock, CancellationToken ct)
    {
        var english = lang == "en";
        string T(string word) => english ? Words[word].En : Words[word].Vi;
        var culture = CultureInfo.GetCultureInfo(english ? "en-US" : "vi-VN");
        string N(long value) => value.ToString("N0", culture);

        var now = clock.GetUtcNow();
        var thisMinute = TrafficLog.MinuteOf(now);
        var hour = await traffic.ReadAsync(thisMinute.AddMinutes(-59), ct);
        var perMinute = Enumerable.Range(0, 60).Select(i => thisMinute.AddMinutes(i - 59))
            .Select(m => (Minute: m, Views: hour.AcceptedPerMinute.GetValueOrDefault(m))).ToList();
        var state = monitor.State;
        var snapshots = live.All.OrderBy(s => s.Counters.SiteId, StringComparer.Ordinal).ToList();
        var names = sites.Known.ToDictionary(s => s.Id, s => s.Name);

        var html = new StringBuilder();
        html.Append($$"""
            <!doctype html><html lang="{{(english ? "en" : "vi")}}"><head><meta charset="utf-8">
            <meta http-equiv="refresh" content="{{RefreshSeconds}}"><meta name="viewport" content="width=device-width, initial-scale=1">
            <meta name="color-scheme" content="light dark"><title>{{T("title")}}</title>
            <style>
            :root{--bg:#f4f5f7;--panel:#fff;--fg:#1f2937;--muted:#5b6472;--line:#e5e7eb;--accent:#a31d24;--bad:#b91c1c}
            @media (prefers-color-scheme:dark){:root{--bg:#14171b;--panel:#1f242b;--fg:#e6e9ee;--muted:#a9b1bd;--line:#3a414b;--accent:#e0565d;--bad:#f87171} }
            body{margin:0;font-family:system-ui,Arial,sans-serif;background:var(--bg);color:var(--fg)}
            header{background:#a31d24;color:#fff;padding:.8rem 1.5rem}header h1{margin:0;font-size:1.3rem}
            main,footer{padding:1rem 1.5rem;max-width:80rem;margin:auto}footer{color:var(--muted)}
            .cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(11rem,1fr));gap:.8rem}
            .card{background:var(--panel);border-radius:4px;padding:.7rem 1rem}.card b{display:block;font-size:1.5rem}
            .bad b{color:var(--bad)}section{background:var(--panel);border-radius:4px;padding:.8rem 1rem;margin-top:1rem;overflow-x:auto}
            table{border-collapse:collapse;width:100%}th,td{text-align:right;padding:.3rem .5rem;border-bottom:1px solid var(--line)}
            th:first-child,td:first-child{text-align:left}svg{width:100%;height:auto}svg .bar{fill:var(--accent)}svg .axis{fill:var(--muted);font-size:11px}
            </style></head><body>
            <header><h1>{{T("title")}}</h1></header><main>
            <div class="cards">
            """);
        Card(html, T("minute"), N(perMinute[^1].Views), false, "views-per-minute");
        Card(html, T("online"), N(snapshots.Sum(s => s.Counters.Online)), false, "online");
        Card(html, T("lagEvents"), N(state.LagEvents), state.ProjectionStalled, "lag-events");
        Card(html, T("lag"), $"{state.LagSeconds.ToString("F1", culture)} s", state.LagSeconds > 5, "lag-seconds");
        Card(html, T("dead"), N(state.DeadLetters), state.DeadLetters > 0, "dead-letters");
        Card(html, T("database"), state.DatabaseReachable ? T("up") : T("down"), !state.DatabaseReachable, "database");
        html.Append("</div>");

        html.Append(CultureInfo.InvariantCulture, $"<section><h2>{T("chart")}</h2>");
        SvgBars.Append(html, "views-chart", T("chart"),
            perMinute.Select(p => (TimeZoneInfo.ConvertTime(p.Minute, Zone).ToString("HH:mm", CultureInfo.InvariantCulture), p.Views)).ToList(), N);
        html.Append("</section>");

        html.Append(CultureInfo.InvariantCulture,
            $"""<section><h2>{T("sites")}</h2><table id="sites"><thead><tr><th>{T("site")}</th><th>{T("onlineOne")}</th><th>{T("pageViews")}</th><th>{T("visits")}</th><th>{T("visitors")}</th>""");
        foreach (var reason in Reasons)
        {
            html.Append(CultureInfo.InvariantCulture, $"<th>{T("refused")}: {T(reason)}</th>");
        }

        html.Append("</tr></thead><tbody>");
        foreach (var snapshot in snapshots)
        {
            var c = snapshot.Counters;
            var name = names.GetValueOrDefault(c.SiteId, c.SiteId);
            html.Append(CultureInfo.InvariantCulture,
                $"""<tr data-site="{Encode(c.SiteId)}"><td title="{Encode(name)}">{Encode(c.SiteId)}</td><td>{N(c.Online)}</td><td>{N(c.Day.PageViews)}</td><td>{N(c.Day.Visits)}</td><td>{N(c.Day.Visitors ?? 0)}</td>""");
            foreach (var reason in Reasons)
            {
                html.Append(CultureInfo.InvariantCulture, $"<td>{N(hour.BySite.GetValueOrDefault((c.SiteId, reason)))}</td>");
            }

            html.Append("</tr>");
        }

        html.Append(CultureInfo.InvariantCulture, $"</tbody></table><p>{T("refusedNote")}</p></section>");

        var known = groups.Known.OrderBy(g => g.Id, StringComparer.Ordinal).ToList();
        if (known.Count > 0)
        {
            html.Append(CultureInfo.InvariantCulture,
                $"""<section><h2>{T("groups")}</h2><table id="groups"><thead><tr><th>{T("group")}</th><th>{T("members")}</th><th>{T("onlineOne")}</th><th>{T("pageViews")}</th><th>{T("visits")}</th><th>{T("visitors")}</th></tr></thead><tbody>""");
            foreach (var group in known)
            {
                if (groupCounters.TryGet(group.Id, out var snapshot))
                {
                    var g = snapshot.Counters;
                    html.Append(CultureInfo.InvariantCulture,
                        $"""<tr data-group="{Encode(group.Id)}"><td title="{Encode(group.Name)}">{Encode(group.Id)}</td><td>{N(g.Sites.Count)}</td><td>{N(g.Online)}</td><td>{N(g.Day.PageViews)}</td><td>{N(g.Day.Visits)}</td><td>{N(g.Day.Visitors ?? 0)}</td></tr>""");
                }
            }

            html.Append("</tbody></table></section>");
        }

        html.Append(CultureInfo.InvariantCulture,
            $"""</main><footer id="node">{T("node")}: {N(state.Backlog)} {T("backlog")} · {(state.RunsProjections ? T("runsHere") : T("elsewhere"))} · {T("readAt")} {TimeZoneInfo.ConvertTime(now, Zone).ToString("HH:mm:ss dd/MM/yyyy", culture)} (Asia/Ho_Chi_Minh)</footer></body></html>""");
        return Results.Content(html.ToString(), "text/html; charset=utf-8");
    }

    private static void Card(StringBuilder html, string label, string value, bool bad, string id) =>
        html.Append(CultureInfo.InvariantCulture, $"""<div class="card{(bad ? " bad" : "")}" id="{id}">{label}<b>{value}</b></div>""");

    private static string Encode(string text) => WebUtility.HtmlEncode(text);
}
