using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;
using Scalar.AspNetCore;

namespace CCHC.Stats.Api.Hosting;

/// <summary>
/// The API described from the code: the OpenAPI document at <c>/openapi/v1.json</c> (ASP.NET Core's own generator) and
/// the same rendered for people at <c>/docs</c> (Scalar, served from this service: no script from elsewhere). Each
/// endpoint declares its body and answers where it is mapped; the role it needs comes from <see cref="ApiKeyEndpointExtensions.RequireKey"/>.
/// docs/API.md is the prose reference; a test holds that every route it names is in this document.
/// </summary>
public static class ApiDocs
{
    public const string DocumentPath = "/openapi/{documentName}.json";

    public const string BearerScheme = "bearer";

    /// <summary>Endpoints that are not minimal-API handlers (health checks, the Prometheus scrape), described here.</summary>
    private static readonly (string Path, string Summary, string ContentType)[] OperationalEndpoints =
    [
        (Operations.OperationsModule.LivePath, "Liveness: the process answers (restart the pod when it does not).", "text/plain"),
        (Operations.OperationsModule.ServingPath, "This pod can serve: started and not shutting down (route traffic by it; stays healthy in a database outage).", "text/plain"),
        (Operations.OperationsModule.ReadyPath, "Readiness for operators and alerts: PostgreSQL answers and the projections run.", "text/plain"),
        ("/metrics", "Prometheus text: views accepted and refused by reason, projection lag, request durations.", "text/plain"),
        ("/openapi/v1.json", "This document.", "application/json"),
        ("/docs", "This document rendered for people (Scalar).", "text/html"),
    ];

    public static IServiceCollection AddApiDocs(this IServiceCollection services) =>
        services.AddOpenApi("v1", options =>
        {
            options.AddDocumentTransformer((document, _, _) =>
            {
                document.Info = new OpenApiInfo
                {
                    Title = "CCHC.Stats",
                    Version = "v1",
                    Description = "Visitor statistics for public portals: page views in, counters out, every number recountable from the recorded history. "
                        + "Errors are RFC 7807 application/problem+json. Keys are sent as Authorization: Bearer <key>; each operation names the role it needs.",
                };
                document.Components ??= new OpenApiComponents();
                document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
                document.Components.SecuritySchemes[BearerScheme] = new OpenApiSecurityScheme
                {
                    Type = SecuritySchemeType.Http,
                    Scheme = "bearer",
                    Description = "A key of the role the operation names: the admin, auditor or ingest key (Stats__AdminKey, Stats__AuditorKey, Stats__IngestKey).",
                };
                foreach (var (path, summary, contentType) in OperationalEndpoints)
                {
                    var operation = new OpenApiOperation { Summary = summary, Tags = new HashSet<OpenApiTagReference> { new("Operations", document) } };
                    operation.Responses ??= new OpenApiResponses();
                    operation.Responses["200"] = new OpenApiResponse
                    {
                        Description = "Healthy; or the metrics, the document, the page.",
                        Content = new Dictionary<string, OpenApiMediaType> { [contentType] = new() },
                    };
                    if (path.StartsWith("/health/", StringComparison.Ordinal))
                    {
                        operation.Responses["503"] = new OpenApiResponse { Description = "Unhealthy.", Content = new Dictionary<string, OpenApiMediaType> { [contentType] = new() } };
                    }
                    document.Paths[path] = new OpenApiPathItem { Operations = new Dictionary<HttpMethod, OpenApiOperation> { [HttpMethod.Get] = operation } };
                }

                return Task.CompletedTask;
            });
            options.AddOperationTransformer((operation, context, _) =>
            {
                if (context.Description.ActionDescriptor.EndpointMetadata.OfType<TakesIdempotencyKey>().Any())
                {
                    operation.Parameters ??= [];
                    operation.Parameters.Add(new OpenApiParameter
                    {
                        Name = Retries.Idempotency.Header,
                        In = ParameterLocation.Header,
                        Required = false,
                        Description = "1–200 printable ASCII characters. The same key and request within 7 days records nothing more and answers what the first "
                            + "answered (Idempotent-Replayed: true); the same key with another request is a 409.",
                        Schema = new OpenApiSchema { Type = JsonSchemaType.String, MaxLength = Retries.Idempotency.MaxKeyLength },
                    });
                }

                var role = context.Description.ActionDescriptor.EndpointMetadata.OfType<RequiresKey>().FirstOrDefault();
                if (role is null)
                {
                    return Task.CompletedTask;
                }

                var name = role.Role.ToString().ToLowerInvariant();
                operation.Description = $"Requires the {name} key (Authorization: Bearer <key>). {operation.Description}".Trim();
                operation.Security = [new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(BearerScheme, context.Document)] = [] }];
                operation.Extensions ??= new Dictionary<string, IOpenApiExtension>();
                operation.Extensions["x-required-role"] = new JsonNodeExtension(name);
                operation.Responses ??= new OpenApiResponses();
                operation.Responses.TryAdd("401", Problem("No key, or not a valid key (WWW-Authenticate: Bearer); or this role's key is not configured."));
                operation.Responses.TryAdd("403", Problem($"A key of another role than {name}."));
                return Task.CompletedTask;
            });
        });

    public static IEndpointRouteBuilder MapApiDocs(this IEndpointRouteBuilder app)
    {
        app.MapOpenApi(DocumentPath);
        app.MapScalarApiReference("/docs", options => options
            .WithTitle("CCHC.Stats API")
            .WithOpenApiRoutePattern(DocumentPath)
            .AddPreferredSecuritySchemes(BearerScheme));
        return app;
    }

    private static OpenApiResponse Problem(string description) => new()
    {
        Description = description,
        Content = new Dictionary<string, OpenApiMediaType> { ["application/problem+json"] = new() },
    };
}

/// <summary>Endpoint metadata: the endpoint takes an <c>Idempotency-Key</c> (see <see cref="Retries.Idempotency"/>).</summary>
public sealed record TakesIdempotencyKey
{
    public static readonly TakesIdempotencyKey Instance = new();
}

public static class ApiDocsEndpointExtensions
{
    public static TBuilder AcceptsIdempotencyKey<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(TakesIdempotencyKey.Instance);
}

/// <summary>Endpoint metadata: the bearer key role an endpoint needs (set by <see cref="ApiKeyEndpointExtensions.RequireKey"/>).</summary>
public sealed record RequiresKey(KeyRole Role);
