using System.Text.Json;
using CCHC.Stats.Api.Counters;
using CCHC.Stats.Api.Hosting;
using CCHC.Stats.Api.Ingestion;
using CCHC.Stats.Api.Retries;
using CCHC.Stats.Api.Sites;
using CCHC.Stats.Contracts;
using Marten;

namespace CCHC.Stats.Api.Pages;

/// <summary>
/// <c>POST /api/v1/sites/{siteId}/pages:baseline</c> (admin): carries a legacy CMS's per-article totals over (NukeViet's
/// <c>hitstotal</c>). Each item is checked alone, as a batch's; the accepted ones are recorded together, one
/// <see cref="PageBaselineRecorded"/> each, and count in their page's all-time figure from <c>asOf</c> on.
/// </summary>
public static class RecordPageBaselines
{
    public const int MaxItems = 10_000;

    /// <summary>10,000 items of a URL, a title and a number.</summary>
    public const long MaxBodyBytes = 32 * 1024 * 1024;

    /// <summary>The largest total one item may carry (10^12); all of a site's page baselines together stay under <see cref="BaselineCounts.Max"/>.</summary>
    public const long MaxPageViews = 1_000_000_000_000;

    /// <summary>The body as read: the items are checked one by one.</summary>
    public sealed record Body(DateTimeOffset? AsOf, List<JsonElement>? Pages);

    public static async Task<IResult> Handle(KnownSite? known, HttpContext http, PageBaselines baselines, IDocumentSession session, TimeProvider clock,
        CancellationToken ct)
    {
        var site = known!;
        var body = await JsonBody.ReadAsync<Body>(http.Request, MaxBodyBytes, ct, keepRaw: true);
        if (body.Problem is not null)
        {
            return body.Problem;
        }

        var (key, keyProblem) = Idempotency.Read(http.Request, site.Id, body.Raw);
        if (keyProblem is not null)
        {
            return keyProblem;
        }

        var now = clock.GetUtcNow();
        var request = body.Value!;
        var errors = new Dictionary<string, string[]>();
        if (request.AsOf is null)
        {
            errors["asOf"] = [$"'asOf' is required: the moment the legacy totals stood at, {ApiTime.ExpectedForm}."];
        }
        else if (request.AsOf > now + GetCounters.FutureTolerance)
        {
            errors["asOf"] = ["'asOf' is in the future."];
        }

        if (request.Pages is null || request.Pages.Count == 0)
        {
            errors["pages"] = ["'pages' is required: an array of { url, pageViews, title }."];
        }
        else if (request.Pages.Count > MaxItems)
        {
            errors["pages"] = [$"At most {MaxItems:N0} pages in one request."];
        }

        if (errors.Count > 0)
        {
            return Results.ValidationProblem(errors, title: "The page baselines are not valid.");
        }

        var asOf = SiteCalendar.ToLocal(request.AsOf!.Value, site.Zone);
        var recordedAt = SiteCalendar.ToLocal(now, site.Zone);
        var rejected = new List<RejectedItem>();
        var recorded = new List<PageBaselineRecorded>();
        for (var index = 0; index < request.Pages!.Count; index++)
        {
            var (item, reason) = Check(site.Site, request.Pages[index]);
            if (reason is not null)
            {
                rejected.Add(new RejectedItem(index, reason));
                continue;
            }

            recorded.Add(new PageBaselineRecorded(site.Id, asOf, DateOnly.FromDateTime(asOf.DateTime), item!.Url!, PageIdentity.Of(item.Url!),
                item.PageViews!.Value, RecordPageView.NullIfEmpty(item.Title), recordedAt));
        }

        return await Idempotency.RecordOnceAsync(session, key, now, async () =>
        {
            if (recorded.Count > 0)
            {
                // The bound holds for the site's page baselines together, so that no page's figure can come near overflowing.
                var standing = await baselines.TotalAsync(site.Id, ct);
                if (standing + recorded.Sum(r => r.PageViews) > BaselineCounts.Max)
                {
                    return Results.ValidationProblem(
                        new Dictionary<string, string[]> { ["pages"] = [$"A site's page baselines together may add at most {BaselineCounts.Max:N0} page views."] },
                        title: "The page baselines are not valid.");
                }

                session.Events.StartStream(Guid.CreateVersion7(), recorded.Cast<object>().ToArray());
            }

            return Answer.Of(StatusCodes.Status200OK, new PageBaselineResult(recorded.Count, rejected));
        }, ct);
    }

    private static (PageBaselineItem? Item, string? Reason) Check(Site site, JsonElement element)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            return (null, "The item is not a JSON object.");
        }

        PageBaselineItem? item;
        try
        {
            item = element.Deserialize<PageBaselineItem>(JsonBody.Options);
        }
        catch (JsonException e)
        {
            return (null, JsonBody.Describe(e));
        }

        var (refusal, reason) = ViewRules.Check(site, item!.Url, null, item.Title);
        if (refusal != ViewRules.Refusal.None)
        {
            return (null, reason);
        }

        return item.PageViews switch
        {
            null => (null, "'pageViews' is required."),
            < 0 => (null, "'pageViews' cannot be negative."),
            > MaxPageViews => (null, $"'pageViews' may be at most {MaxPageViews:N0}."),
            _ => (item, null),
        };
    }
}
