using System.Text;
using System.Text.Json;
using CCHC.Stats.Api.Counters;
using CCHC.Stats.Api.Hosting;
using CCHC.Stats.Api.Operations;
using CCHC.Stats.Api.Sites;
using CCHC.Stats.Contracts;
using CCHC.Stats.Api.Retries;
using Marten;
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
        KnownSite? known,
        HttpContext http,
        VisitorIdentity identity,
        IMessageBus bus,
        ViewTransport transport,
        IDocumentSession session,
        StatsMetrics metrics,
        TimeProvider clock,
        CancellationToken ct)
    {
        var (site, siteId) = (known!.Site, known.Id);

        var (body, bodyProblem) = await ReadBodyAsync(http.Request, ct);
        if (bodyProblem is not null)
        {
            return bodyProblem;
        }

        var (key, keyProblem) = Idempotency.Read(http.Request, siteId, body!);
        if (keyProblem is not null)
        {
            return keyProblem;
        }

        var (items, problem) = ParseItems(body!);
        if (problem is not null)
        {
            return problem;
        }

        var now = clock.GetUtcNow();
        var zone = known.Zone;
        var latest = now + MaxClockSkew;
        var rejected = new List<RejectedItem>();
        var views = new List<PageViewed>(items!.Count);
        var refusals = new List<string>();
        var bots = 0;
        for (var index = 0; index < items.Count; index++)
        {
            var (item, parseError) = items[index];
            var (refusal, reason) = parseError is null ? Check(site, item!, latest) : (RefusalReason.Invalid, parseError);
            if (reason is not null)
            {
                rejected.Add(new RejectedItem(index, reason));
                refusals.Add(refusal);
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
            views.Add(new PageViewed(siteId, at, visitor, item.Url!, RecordPageView.NullIfEmpty(item.Referrer), RecordPageView.NullIfEmpty(item.Title)));
        }

        var answer = Answer.Of(StatusCodes.Status202Accepted, new BatchResult(views.Count + bots, rejected, bots));
        IResult result;
        if (key is null)
        {
            try
            {
                if (views.Count > 0)
                {
                    await transport.DeliverAsync(bus, RecordPageViews.Of(views), ct);
                }

                result = answer;
            }
            catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                metrics.Refused(siteId, RefusalReason.Unavailable, views.Count);
                return RecordPageView.Unavailable();
            }
        }
        else
        {
            // A keyed batch is appended here, on any transport, with its receipt in the same transaction: its answer
            // depends on whether the key was seen, which only the store can say (Idempotency).
            result = await Idempotency.RecordOnceAsync(session, key, now, () =>
            {
                if (views.Count > 0)
                {
                    RecordPageViewsHandler.Handle(RecordPageViews.Of(views), session);
                }

                return Task.FromResult<IResult>(answer);
            }, ct);
        }

        if (result is Answer { Replayed: false, IsSuccess: true })
        {
            metrics.Accepted(siteId, views.Count);
            foreach (var refusal in refusals)
            {
                metrics.Refused(siteId, refusal);
            }

            if (bots > 0)
            {
                metrics.Refused(siteId, RefusalReason.Bot, bots);
            }
        }

        return result;
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
            return (RefusalReason.Invalid, $"'occurredAt' is required: {ApiTime.ExpectedForm}.");
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

    private static async Task<(byte[]? Body, IResult? Problem)> ReadBodyAsync(HttpRequest request, CancellationToken ct)
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
        catch (BadHttpRequestException e)
        {
            return (null, ClientFaults.Problem(e));
        }

        return (buffer.ToArray(), null);
    }

    /// <summary>
    /// A JSON array, or NDJSON (one object a line). Each item is read alone: a malformed field, or a malformed line of
    /// NDJSON, rejects that item with its reason, and only a body that is neither is a 400.
    /// </summary>
    private static (List<(BatchViewItem? Item, string? Error)>? Items, IResult? Problem) ParseItems(byte[] body)
    {
        var text = Encoding.UTF8.GetString(body).TrimStart();
        var items = new List<(BatchViewItem?, string?)>();
        if (text.StartsWith('['))
        {
            try
            {
                using var array = JsonDocument.Parse(text);
                if (array.RootElement.GetArrayLength() > MaxItems)
                {
                    return (null, TooMany());
                }

                items.AddRange(array.RootElement.EnumerateArray().Select(ParseItem));
            }
            catch (JsonException)
            {
                return (null, NotABatch("The body starts as a JSON array but is not well-formed JSON."));
            }
        }
        else
        {
            var anyObject = false;
            foreach (var line in text.Split('\n'))
            {
                if (string.IsNullOrWhiteSpace(line))
                {
                    continue;
                }

                if (items.Count == MaxItems)
                {
                    return (null, TooMany());
                }

                try
                {
                    using var document = JsonDocument.Parse(line);
                    anyObject |= document.RootElement.ValueKind == JsonValueKind.Object;
                    items.Add(ParseItem(document.RootElement));
                }
                catch (JsonException)
                {
                    items.Add((null, "The line is not well-formed JSON."));
                }
            }

            if (!anyObject && items.Count > 0)
            {
                return (null, NotABatch("No line of the body is a JSON object."));
            }
        }

        return items.Count == 0 ? (null, NotABatch("The batch holds no items.")) : (items, null);
    }

    private static (BatchViewItem? Item, string? Error) ParseItem(JsonElement element)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            return (null, "The item is not a JSON object.");
        }

        try
        {
            return (element.Deserialize<BatchViewItem>(JsonBody.Options), null);
        }
        catch (JsonException e)
        {
            return (null, JsonBody.Describe(e));
        }
    }

    private static IResult NotABatch(string detail) =>
        Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Not a batch.",
            detail: $"{detail} Send a JSON array of views or NDJSON (one view object a line).");

    private static IResult TooMany() =>
        Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Too many items.", detail: $"A batch holds at most {MaxItems:N0} items.");

    private static IResult TooLarge() =>
        Results.Problem(statusCode: StatusCodes.Status413PayloadTooLarge, title: "Request body too large.",
            detail: $"A batch body may be at most {MaxBodyBytes / (1024 * 1024)} MiB.");
}
