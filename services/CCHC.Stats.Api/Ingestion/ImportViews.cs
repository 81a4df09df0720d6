using System.Text;
using System.Text.Json;
using CCHC.Stats.Api.Counters;
using CCHC.Stats.Api.Hosting;
using CCHC.Stats.Api.Operations;
using CCHC.Stats.Api.Sites;
using CCHC.Stats.Contracts;
using Wolverine;

namespace CCHC.Stats.Api.Ingestion;

/// <summary>
/// <c>POST /api/v1/sites/{siteId}/views:batch</c> (ingest key): trusted server-side ingestion and log import,
/// as a JSON array or NDJSON. Each item is checked alone; the valid ones are recorded in one transaction, so
/// the 202 means every accepted item is durable.
/// </summary>
public static class ImportViews
{
    public const int MaxItems = 10_000;

    /// <summary>10,000 items of at most a few KB each.</summary>
    public const long MaxBodyBytes = 32 * 1024 * 1024;

    /// <summary>How far ahead of the server's clock an <c>occurredAt</c> may be (clock skew between servers).</summary>
    public static readonly TimeSpan MaxClockSkew = TimeSpan.FromMinutes(5);

    public const int MaxVisitorIdLength = 256;

    public static async Task<IResult> Handle(
        string siteId,
        HttpContext http,
        SiteDirectory sites,
        VisitorIdentity identity,
        IMessageBus bus,
        ViewTransport transport,
        StatsMetrics metrics,
        TimeProvider clock,
        CancellationToken ct)
    {
        var site = PutSite.IsValidSiteId(siteId) ? await sites.FindAsync(siteId, ct) : null;
        if (site is null)
        {
            return SiteProblems.NotFound(siteId);
        }

        var (items, problem) = await ReadItemsAsync(http.Request, ct);
        if (problem is not null)
        {
            return problem;
        }

        var zone = sites.ZoneOf(site);
        var latest = clock.GetUtcNow() + MaxClockSkew;
        var rejected = new List<RejectedItem>();
        var views = new List<PageViewed>(items!.Count);
        var bots = 0;
        for (var index = 0; index < items.Count; index++)
        {
            var (item, parseError) = items[index];
            var (refusal, reason) = parseError is null ? Check(site, item!, latest) : (RefusalReason.Invalid, parseError);
            if (reason is not null)
            {
                rejected.Add(new RejectedItem(index, reason));
                metrics.Refused(siteId, refusal);
                continue;
            }

            if (Bots.IsBot(item!.UserAgent))
            {
                bots++;
                continue;
            }

            var at = SiteCalendar.ToLocal(item.OccurredAt!.Value, zone);
            var day = DateOnly.FromDateTime(at.DateTime);
            var visitor = await identity.ForImportAsync(siteId, day, item.VisitorId!, ct);
            views.Add(new PageViewed(siteId, at, day, visitor, item.Url!, RecordPageView.NullIfEmpty(item.Referrer), RecordPageView.NullIfEmpty(item.Title)));
        }

        try
        {
            if (views.Count > 0)
            {
                await transport.DeliverAsync(bus, RecordPageViews.Of(views), ct);
            }
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            metrics.Refused(siteId, RefusalReason.Unavailable, views.Count);
            return RecordPageView.Unavailable();
        }

        metrics.Accepted(siteId, views.Count);
        if (bots > 0)
        {
            metrics.Refused(siteId, RefusalReason.Bot, bots);
        }

        return Results.Accepted(value: new BatchResult(views.Count + bots, rejected, bots));
    }

    /// <summary>Why an item is refused (the metric's reason and the words for the sender), or no reason.</summary>
    private static (string Refusal, string? Reason) Check(Site site, BatchViewItem item, DateTimeOffset latest)
    {
        var (refusal, reason) = ViewRules.Check(site, item.Url, item.Referrer, item.Title);
        if (refusal != ViewRules.Refusal.None)
        {
            return (refusal == ViewRules.Refusal.HostNotAllowed ? RefusalReason.HostNotAllowed : RefusalReason.Invalid, reason);
        }

        if (item.OccurredAt is null)
        {
            return (RefusalReason.Invalid, "'occurredAt' is required.");
        }

        if (item.OccurredAt > latest)
        {
            return (RefusalReason.Invalid, "'occurredAt' is more than 5 minutes in the future.");
        }

        if (string.IsNullOrWhiteSpace(item.VisitorId) || item.VisitorId.Length > MaxVisitorIdLength)
        {
            return (RefusalReason.Invalid, $"'visitorId' is required, at most {MaxVisitorIdLength} characters.");
        }

        return (RefusalReason.Invalid, null);
    }

    /// <summary>A JSON array, or NDJSON (one object a line; a malformed line is rejected alone).</summary>
    private static async Task<(List<(BatchViewItem? Item, string? Error)>? Items, IResult? Problem)> ReadItemsAsync(HttpRequest request, CancellationToken ct)
    {
        if (request.ContentLength > MaxBodyBytes)
        {
            return (null, TooLarge());
        }

        using var buffer = new MemoryStream();
        try
        {
            await request.Body.CopyToAsync(buffer, ct);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (null, TooLarge());
        }

        var bytes = buffer.GetBuffer().AsMemory(0, (int)buffer.Length);
        var text = Encoding.UTF8.GetString(bytes.Span).TrimStart();
        var items = new List<(BatchViewItem?, string?)>();
        if (text.StartsWith('['))
        {
            try
            {
                var array = JsonSerializer.Deserialize<List<BatchViewItem?>>(text, JsonBody.Options) ?? [];
                items.AddRange(array.Select(i => i is null ? ((BatchViewItem?)null, (string?)"The item is null.") : (i, null)));
            }
            catch (JsonException e)
            {
                return (null, JsonBody.Malformed(e.Message));
            }
        }
        else
        {
            foreach (var line in text.Split('\n'))
            {
                if (string.IsNullOrWhiteSpace(line))
                {
                    continue;
                }

                try
                {
                    var item = JsonSerializer.Deserialize<BatchViewItem>(line, JsonBody.Options);
                    items.Add(item is null ? (null, "The item is null.") : (item, null));
                }
                catch (JsonException e)
                {
                    items.Add((null, $"Malformed JSON: {e.Message}"));
                }

                if (items.Count > MaxItems)
                {
                    break;
                }
            }
        }

        if (items.Count == 0)
        {
            return (null, JsonBody.Malformed("The batch holds no items."));
        }

        if (items.Count > MaxItems)
        {
            return (null, Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Too many items.",
                detail: $"A batch holds at most {MaxItems:N0} items."));
        }

        return (items, null);
    }

    private static IResult TooLarge() =>
        Results.Problem(statusCode: StatusCodes.Status413PayloadTooLarge, title: "Request body too large.",
            detail: $"A batch body may be at most {MaxBodyBytes / (1024 * 1024)} MiB.");
}
