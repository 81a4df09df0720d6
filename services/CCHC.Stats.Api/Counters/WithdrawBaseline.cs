using System.Security.Cryptography;
using System.Text;
using CCHC.Stats.Api.Hosting;
using CCHC.Stats.Api.Retries;
using CCHC.Stats.Api.Sites;
using Marten;

namespace CCHC.Stats.Api.Counters;

/// <summary>
/// <c>POST /api/v1/sites/{siteId}/baseline/{sequence}:withdraw</c> (admin): a baseline typed wrongly is corrected, never
/// deleted. Records <see cref="BaselineWithdrawn"/>; from its moment on the baseline no longer counts, and the history
/// shows both facts. 404 for a sequence that is not a baseline of the site, 409 for one already withdrawn.
/// </summary>
public static class WithdrawBaseline
{
    public const int MaxReasonLength = 500;

    /// <summary>Optional body: why the baseline is withdrawn, kept in the history for auditors.</summary>
    public sealed record Request(string? Reason);

    public static async Task<IResult> Handle(KnownSite? known, string sequence, HttpContext http, SiteBaselines baselines,
        IDocumentSession session, TimeProvider clock, CancellationToken ct)
    {
        var (site, siteId) = (known!.Site, known.Id);

        if (!long.TryParse(sequence, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var number))
        {
            return NotABaseline(siteId, sequence);
        }

        Request? request = null;
        byte[] raw = [];
        if (http.Request.ContentLength is > 0 || http.Request.Headers.TransferEncoding.Count > 0)
        {
            var body = await JsonBody.ReadAsync<Request>(http.Request, 4 * 1024, ct, keepRaw: true);
            if (body.Problem is not null)
            {
                return body.Problem;
            }

            (request, raw) = (body.Value, body.Raw!);
        }

        if (request?.Reason is { } reason && (reason.Length > MaxReasonLength || !StorableText.IsStorable(reason)))
        {
            return Results.ValidationProblem(new Dictionary<string, string[]>
            {
                ["reason"] = [$"The reason is at most {MaxReasonLength} characters, none of them U+0000 or an unpaired surrogate."],
            }, title: "The withdrawal is not valid.");
        }

        var (key, keyProblem) = Idempotency.Read(http.Request, siteId, raw);
        if (keyProblem is not null)
        {
            return keyProblem;
        }

        var now = clock.GetUtcNow();
        var zone = known.Zone;
        return await Idempotency.RecordOnceAsync(session, key, now, async () =>
        {
            var target = (await baselines.OfSiteAsync(siteId, ct)).FirstOrDefault(b => b.Sequence == number);
            if (target is null)
            {
                return NotABaseline(siteId, sequence);
            }

            if (target.Withdrawal is not null)
            {
                return AlreadyWithdrawn(target.Withdrawal);
            }

            var at = SiteCalendar.ToLocal(now, zone);
            var withdrawn = new BaselineWithdrawn(siteId, number, at, DateOnly.FromDateTime(at.DateTime), target.Baseline.Day,
                target.Baseline.PageViews, target.Baseline.Visits, Trimmed(request?.Reason));

            // One stream per baseline's withdrawal, expected new: two withdrawals of it at the same moment collide on it.
            session.Events.Append(StreamOf(siteId, number), 1, withdrawn);
            return Answer.Of(StatusCodes.Status200OK, withdrawn);
        }, ct, onStreamCollision: () => Results.Problem(statusCode: StatusCodes.Status409Conflict, title: "Already withdrawn.",
            detail: $"The baseline {number} of site '{siteId}' has already been withdrawn."));
    }

    private static string? Trimmed(string? reason) => string.IsNullOrWhiteSpace(reason) ? null : reason.Trim();

    private static Guid StreamOf(string siteId, long sequence) =>
        new(SHA256.HashData(Encoding.UTF8.GetBytes($"baseline-withdrawn/{siteId}/{sequence}")).AsSpan(0, 16));

    private static IResult NotABaseline(string siteId, string sequence) =>
        Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "No such baseline.",
            detail: $"'{sequence}' is not the sequence of a baseline of site '{siteId}' (see the baseline events of GET …/events).");

    private static IResult AlreadyWithdrawn(BaselineWithdrawn withdrawal) =>
        Results.Problem(statusCode: StatusCodes.Status409Conflict, title: "Already withdrawn.",
            detail: $"The baseline {withdrawal.BaselineSequence} was withdrawn at {withdrawal.WithdrawnAt:yyyy-MM-dd'T'HH:mm:sszzz}.");
}
