using CCHC.Stats.Api.Counters;
using CCHC.Stats.Api.Hosting;
using CCHC.Stats.Api.Operations;
using CCHC.Stats.Api.Sites;
using CCHC.Stats.Contracts;

namespace CCHC.Stats.Api.Ingestion;

/// <summary><c>POST /api/v1/sites/{siteId}/views</c>: one public page view, answered 202 once it is durable.</summary>
public static class RecordPageView
{
    public const long MaxBodyBytes = 8 * 1024;

    /// <summary>Seconds a client should wait before sending again when the store is out of reach.</summary>
    public const int RetryAfterSeconds = 5;

    public static async Task<IResult> Handle(
        KnownSite? known,
        HttpContext http,
        VisitorIdentity identity,
        ViewBatcher batcher,
        StatsMetrics metrics,
        TimeProvider clock,
        CancellationToken ct)
    {
        var started = clock.GetTimestamp();
        var (site, siteId) = (known!.Site, known.Id);

        var body = await JsonBody.ReadAsync<PageViewRequest>(http.Request, MaxBodyBytes, ct);
        if (body.Problem is not null)
        {
            metrics.Refused(siteId, body.TooLarge ? RefusalReason.TooLarge : RefusalReason.Invalid);
            return body.Problem;
        }

        var view = body.Value!;
        var (refusal, reason) = ViewRules.Check(site, view.Url, view.Referrer, view.Title);
        switch (refusal)
        {
            case ViewRules.Refusal.Invalid:
                metrics.Refused(siteId, RefusalReason.Invalid);
                return Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Invalid view.", detail: reason);
            case ViewRules.Refusal.HostNotAllowed:
                metrics.Refused(siteId, RefusalReason.HostNotAllowed);
                return Results.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Host not allowed.", detail: reason);
        }

        var userAgent = http.Request.Headers.UserAgent.ToString();
        if (Bots.IsBot(userAgent))
        {
            metrics.Refused(siteId, RefusalReason.Bot);
            return Results.Accepted();
        }

        var now = SiteCalendar.ToLocal(clock.GetUtcNow(), known.Zone);
        var day = DateOnly.FromDateTime(now.DateTime);
        var clientIp = http.Connection.RemoteIpAddress?.ToString() ?? "";
        try
        {
            var visitor = await identity.ForPublicViewAsync(day, clientIp, userAgent, ct);
            await batcher.RecordAsync(new PageViewed(siteId, now, visitor, view.Url!, NullIfEmpty(view.Referrer), NullIfEmpty(view.Title)), ct);
        }
        catch (UnstorableViewException)
        {
            metrics.Refused(siteId, RefusalReason.Invalid);
            return Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Invalid view.",
                detail: "The view holds a value the store cannot keep; nothing was recorded.");
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            metrics.Refused(siteId, RefusalReason.Unavailable);
            return Unavailable();
        }

        metrics.Accepted(siteId);
        metrics.AckLatency(clock.GetElapsedTime(started));
        return Results.Accepted();
    }

    /// <summary>503 with Retry-After: the view could not be made durable, so it is not acknowledged.</summary>
    public static IResult Unavailable() => new HeaderResult(
        Results.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Service unavailable.",
            detail: "The view could not be stored durably right now; send it again later."),
        "Retry-After", RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture));

    public static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;
}
