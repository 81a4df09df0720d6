using CCHC.Stats.Api.Hosting;
using CCHC.Stats.Api.Retries;
using CCHC.Stats.Api.Sites;
using CCHC.Stats.Contracts;
using Marten;

namespace CCHC.Stats.Api.Counters;

/// <summary>
/// <c>POST /api/v1/sites/{siteId}/baseline</c> (admin): carries a legacy counter's totals over, so a portal
/// switching to this service does not show its numbers falling to zero. Recorded as an event like every
/// view, so the export shows it and a replay reproduces it.
/// </summary>
public static class RecordBaseline
{
    public static Dictionary<string, string[]> Validate(BaselineRequest? request, DateTimeOffset now)
    {
        var errors = new Dictionary<string, string[]>();
        if (request is null)
        {
            errors["body"] = ["A JSON body with the baseline is required."];
            return errors;
        }

        if (request.AsOf is null)
        {
            errors["asOf"] = [$"'asOf' is required: the moment the legacy figures stood at, {ApiTime.ExpectedForm}."];
        }
        else if (request.AsOf > now + GetCounters.FutureTolerance)
        {
            errors["asOf"] = ["'asOf' is in the future."];
        }

        Check("pageViews", request.PageViews, errors);
        Check("visits", request.Visits, errors);
        if (request is { PageViews: { } views, Visits: { } visits } && !errors.ContainsKey("pageViews") && !errors.ContainsKey("visits"))
        {
            var periods = new (string Name, long Views, long Visits)[]
            {
                ("day", views.Day, visits.Day), ("week", views.Week, visits.Week), ("month", views.Month, visits.Month),
                ("year", views.Year, visits.Year), ("total", views.Total, visits.Total),
            };
            var over = periods.Where(p => p.Visits > p.Views).Select(p => p.Name).ToList();
            if (over.Count > 0)
            {
                errors["visits"] = [$"Visits cannot exceed page views ({string.Join(", ", over)})."];
            }
        }

        return errors;
    }

    private static void Check(string name, BaselineFigures? figures, Dictionary<string, string[]> errors)
    {
        if (figures is null)
        {
            errors[name] = [$"'{name}' with day, week, month, year and total is required."];
            return;
        }

        var all = new[] { figures.Day, figures.Week, figures.Month, figures.Year, figures.Total };
        if (all.Any(n => n < 0))
        {
            errors[name] = ["Figures cannot be negative: a baseline given by mistake is withdrawn (POST …/baseline/{sequence}:withdraw), not offset."];
            return;
        }

        if (all.Any(n => n > BaselineCounts.Max))
        {
            errors[name] = [$"A figure may be at most {BaselineCounts.Max:N0}."];
            return;
        }

        var problems = new List<string>();
        if (figures.Day > figures.Week)
        {
            problems.Add("day > week");
        }

        if (figures.Day > figures.Month)
        {
            problems.Add("day > month");
        }

        if (figures.Month > figures.Year)
        {
            problems.Add("month > year");
        }

        if (figures.Year > figures.Total)
        {
            problems.Add("year > total");
        }

        if (figures.Week > figures.Total)
        {
            problems.Add("week > total");
        }

        if (problems.Count > 0)
        {
            errors[name] = [$"Inconsistent figures: {string.Join(", ", problems)}."];
        }
    }

    public static async Task<IResult> Handle(KnownSite? known, HttpContext http, SiteBaselines baselines,
        IDocumentSession session, TimeProvider clock, CancellationToken ct)
    {
        var (site, siteId) = (known!.Site, known.Id);

        var body = await JsonBody.ReadAsync<BaselineRequest>(http.Request, 16 * 1024, ct, keepRaw: true);
        if (body.Problem is not null)
        {
            return body.Problem;
        }

        var (key, keyProblem) = Idempotency.Read(http.Request, siteId, body.Raw);
        if (keyProblem is not null)
        {
            return keyProblem;
        }

        var now = clock.GetUtcNow();
        var errors = Validate(body.Value, now);
        if (errors.Count > 0)
        {
            return Results.ValidationProblem(errors, title: "The baseline is not valid.");
        }

        var request = body.Value!;
        var zone = known.Zone;
        var asOf = SiteCalendar.ToLocal(request.AsOf!.Value, zone);
        var recorded = new BaselineRecorded(siteId, asOf, DateOnly.FromDateTime(asOf.DateTime),
            Counts(request.PageViews!), Counts(request.Visits!), SiteCalendar.ToLocal(now, zone));
        return await Idempotency.RecordOnceAsync(session, key, now, async () =>
        {
            // The bound holds for the site's baselines together too, so that no sum of them can come near overflowing.
            var standing = (await baselines.OfSiteAsync(siteId, ct)).Where(b => b.Withdrawal is null).Sum(b => b.Baseline.PageViews.Total);
            if (standing + recorded.PageViews.Total > BaselineCounts.Max)
            {
                return Results.ValidationProblem(
                    new Dictionary<string, string[]> { ["pageViews"] = [$"The site's baselines together may add at most {BaselineCounts.Max:N0} page views."] },
                    title: "The baseline is not valid.");
            }

            session.Events.StartStream(Guid.CreateVersion7(), recorded);
            return Answer.Of(StatusCodes.Status200OK, recorded);
        }, ct);
    }

    private static BaselineCounts Counts(BaselineFigures f) => new(f.Day, f.Week, f.Month, f.Year, f.Total);
}
