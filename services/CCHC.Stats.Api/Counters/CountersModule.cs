using CCHC.Stats.Api.Hosting;
using CCHC.Stats.Api.Ingestion;
using CCHC.Stats.Api.Sites;
using Marten;
using Npgsql;

namespace CCHC.Stats.Api.Counters;

public static class CountersModule
{
    public static IServiceCollection AddCounters(this IServiceCollection services)
    {
        services.AddSingleton<LiveCounters>();
        services.AddSingleton<LiveCounterRefresher>();
        services.AddHostedService(sp => sp.GetRequiredService<LiveCounterRefresher>());
        services.AddSingleton<CountersAsOf>();
        services.AddSingleton<ViewHistory>();
        services.AddSingleton<CountStore>();
        services.AddSingleton(sp => new VisitorDayStore(sp.GetRequiredService<NpgsqlDataSource>(), sp.GetRequiredService<IDocumentStore>().Options.DatabaseSchemaName));
        services.AddSingleton<SiteBaselines>();
        return services;
    }

    public static IEndpointRouteBuilder MapCounters(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/v1/sites/{siteId}/counters", GetCounters.Handle).RequireCors(IngestionModule.PublicCors)
            .WithTags("Counters").WithSummary("The figures a widget shows: online now, day, week, month, year, all time (public).")
            .WithDescription("asOf (optional, ISO-8601 with offset): the figures exactly as they stood at that moment. ETag / If-None-Match (304), Cache-Control: public, max-age=5.")
            .Produces<Contracts.CountersResponse>().Produces(StatusCodes.Status304NotModified)
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        app.MapPost("/api/v1/sites/{siteId}/baseline", RecordBaseline.Handle).RequireKey(KeyRole.Admin).RequireSite()
            .WithTags("Counters").WithSummary("Carry a legacy counter's totals over, from a moment on.")
            .WithDescription("Each figure (0–10^15) is added to the period of its kind that contains asOf. Inconsistent figures (day > week, day > month, month > year, year > total, week > total, visits > page views) are a 400.")
            .Accepts<Contracts.BaselineRequest>("application/json").Produces<BaselineRecorded>()
            .ProducesValidationProblem().ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable)
            .AcceptsIdempotencyKey();
        app.MapPost("/api/v1/sites/{siteId}/baseline/{sequence}:withdraw", WithdrawBaseline.Handle).RequireKey(KeyRole.Admin).RequireSite()
            .WithTags("Counters").WithSummary("Withdraw a baseline given by mistake (recorded as an event; never deleted).")
            .WithDescription("sequence: the baseline's sequence in the history export. From the withdrawal's moment on the baseline no longer counts; asOf before it still shows it. Optional body: {\"reason\": \"…\"}.")
            .Accepts<WithdrawBaseline.Request>("application/json").Produces<BaselineWithdrawn>()
            .ProducesValidationProblem().ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable)
            .AcceptsIdempotencyKey();
        return app;
    }
}
