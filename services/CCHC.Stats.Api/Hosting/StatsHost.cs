using CCHC.Stats.Api.Audit;
using CCHC.Stats.Api.Counters;
using CCHC.Stats.Api.Groups;
using CCHC.Stats.Api.Ingestion;
using CCHC.Stats.Api.Operations;
using CCHC.Stats.Api.Pages;
using CCHC.Stats.Api.Retries;
using CCHC.Stats.Api.Sites;
using CCHC.Stats.Api.Traffic;
using CCHC.Stats.Api.Widget;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.Options;

namespace CCHC.Stats.Api.Hosting;

/// <summary>The whole service, registered and mapped: what Program.cs calls.</summary>
public static class StatsHost
{
    public static WebApplicationBuilder AddStats(this WebApplicationBuilder builder, string connectionString)
    {
        var services = builder.Services;
        services.AddOptions<StatsOptions>().Bind(builder.Configuration.GetSection(StatsOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<StatsOptions>, StatsOptionsValidation>();
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<ApiKeys>();
        services.AddProblemDetails();
        services.AddExceptionHandler<ClientFaults>();
        services.AddApiDocs();
        services.AddResponseCompression(compression =>
        {
            // The answers carry no secret beside text a client chose (keys are never echoed), so compressing over
            // HTTPS gives BREACH nothing to guess at.
            compression.EnableForHttps = true;
            compression.Providers.Add<Microsoft.AspNetCore.ResponseCompression.BrotliCompressionProvider>();
            compression.Providers.Add<Microsoft.AspNetCore.ResponseCompression.GzipCompressionProvider>();
            compression.MimeTypes = Microsoft.AspNetCore.ResponseCompression.ResponseCompressionDefaults.MimeTypes
                .Concat(["application/problem+json", "application/x-ndjson", "text/csv", "image/svg+xml"]);
        });
        services.Configure<Microsoft.AspNetCore.ResponseCompression.BrotliCompressionProviderOptions>(o => o.Level = System.IO.Compression.CompressionLevel.Fastest);
        services.Configure<Microsoft.AspNetCore.ResponseCompression.GzipCompressionProviderOptions>(o => o.Level = System.IO.Compression.CompressionLevel.Fastest);
        services.AddCors(cors => cors.AddPolicy(IngestionModule.PublicCors, p => p.AllowAnyOrigin().AllowAnyHeader().WithMethods("GET", "POST")));
        services.Configure<ForwardedHeadersOptions>(forwarded => TrustedProxies.Configure(forwarded, builder.Configuration));

        builder.AddEventStore(connectionString);
        services.AddSites().AddGroups().AddIngestion().AddCounters().AddPages().AddTraffic().AddRetries().AddAudit().AddOperations(builder.Configuration);
        services.AddHostedService<DemoSite>();
        return builder;
    }

    public static WebApplication MapStats(this WebApplication app)
    {
        if (TrustedProxies.AnyConfigured(app.Configuration))
        {
            app.UseForwardedHeaders();
        }

        app.UseResponseCompression();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseCors();
        app.UseRateLimiter();
        app.MapSites();
        app.MapGroups();
        app.MapIngestion();
        app.MapCounters();
        app.MapPages();
        app.MapTraffic();
        app.MapWidget();
        app.MapAudit();
        app.MapOperations();
        app.MapApiDocs();
        return app;
    }
}

/// <summary>
/// <c>X-Forwarded-For</c> is honoured only from the proxies listed in <c>Stats:TrustedProxies</c> (IPs or
/// CIDR networks, comma-separated): from anyone else the header is ignored and the connection's address is
/// the client's, so a spoofed header changes neither the rate limit nor the visitor hash.
/// </summary>
public static class TrustedProxies
{
    /// <summary>
    /// Whether any proxy is trusted. With none, the forwarded-headers middleware is not used at all: with
    /// empty lists it would trust every sender, and its defaults trust loopback.
    /// </summary>
    public static bool AnyConfigured(IConfiguration configuration) => Entries(configuration).Length > 0;

    public static void Configure(ForwardedHeadersOptions options, IConfiguration configuration)
    {
        options.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto;
        options.KnownProxies.Clear();
        options.KnownIPNetworks.Clear();
        foreach (var entry in Entries(configuration))
        {
            if (entry.Contains('/'))
            {
                options.KnownIPNetworks.Add(System.Net.IPNetwork.Parse(entry));
            }
            else
            {
                options.KnownProxies.Add(System.Net.IPAddress.Parse(entry));
            }
        }
    }

    private static string[] Entries(IConfiguration configuration) =>
        (configuration["Stats:TrustedProxies"] ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
