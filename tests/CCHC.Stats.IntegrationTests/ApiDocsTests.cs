using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace CCHC.Stats.IntegrationTests;

/// <summary>
/// The API reference cannot drift from the code: every route docs/API.md documents is in the OpenAPI document the
/// service serves, with the role the code requires; /docs renders it; answers go compressed.
/// </summary>
public sealed partial class ApiDocsTests(StatsApp app)
{
    [GeneratedRegex(@"^### `(GET|POST|PUT|DELETE) (/\S*)`", RegexOptions.Multiline)]
    private static partial Regex RouteHeading();

    [GeneratedRegex(@"^### `(GET|POST|PUT|DELETE) (/\S*)`\s*\n\*\*(Admin|Auditor|Ingest|Anyone)", RegexOptions.Multiline)]
    private static partial Regex RouteWithRole();

    [Fact]
    public async Task every_route_of_the_reference_is_in_the_openapi_document_with_its_role()
    {
        var reference = await File.ReadAllTextAsync(Path.Combine(ServiceProcess.RepositoryRoot(), "docs", "API.md"));
        using var client = app.Browser();
        using var document = JsonDocument.Parse(await client.GetStringAsync("/openapi/v1.json"));
        var paths = document.RootElement.GetProperty("paths");

        var routes = RouteHeading().Matches(reference).Select(m => (Method: m.Groups[1].Value.ToLowerInvariant(), Path: m.Groups[2].Value)).ToList();
        Assert.True(routes.Count >= 24, $"only {routes.Count} routes found in docs/API.md");
        foreach (var (method, path) in routes)
        {
            Assert.True(paths.TryGetProperty(path, out var item) && item.TryGetProperty(method, out _), $"{method.ToUpperInvariant()} {path} is not in /openapi/v1.json");
        }

        foreach (Match match in RouteWithRole().Matches(reference))
        {
            var operation = paths.GetProperty(match.Groups[2].Value).GetProperty(match.Groups[1].Value.ToLowerInvariant());
            var documented = match.Groups[3].Value.ToLowerInvariant();
            var required = operation.TryGetProperty("x-required-role", out var role) ? role.GetString() : "anyone";
            Assert.True(documented == required, $"{match.Groups[1].Value} {match.Groups[2].Value}: docs/API.md says {documented}, the code requires {required}");
        }

        // And the other way round: the code serves nothing the reference leaves out.
        var documentedRoutes = routes.Select(r => $"{r.Method} {r.Path}").ToHashSet();
        foreach (var path in paths.EnumerateObject())
        {
            foreach (var operation in path.Value.EnumerateObject())
            {
                Assert.Contains($"{operation.Name} {path.Name}", documentedRoutes);
            }
        }
    }

    [Fact]
    public async Task the_document_names_the_bearer_scheme_problem_answers_and_request_bodies()
    {
        using var client = app.Browser();
        using var document = JsonDocument.Parse(await client.GetStringAsync("/openapi/v1.json"));
        var root = document.RootElement;
        var batch = root.GetProperty("paths").GetProperty("/api/v1/sites/{siteId}/views:batch").GetProperty("post");

        Assert.Equal("bearer", root.GetProperty("components").GetProperty("securitySchemes").GetProperty("bearer").GetProperty("scheme").GetString());
        Assert.True(batch.GetProperty("requestBody").GetProperty("content").TryGetProperty("application/x-ndjson", out _));
        Assert.True(batch.GetProperty("responses").GetProperty("400").GetProperty("content").TryGetProperty("application/problem+json", out _));
        Assert.Contains(batch.GetProperty("parameters").EnumerateArray(), p => p.GetProperty("name").GetString() == "Idempotency-Key");
        Assert.Equal("bearer", batch.GetProperty("security")[0].EnumerateObject().Single().Name);
        Assert.True(root.GetProperty("components").GetProperty("schemas").TryGetProperty("CountersResponse", out _));
    }

    [Fact]
    public async Task the_docs_page_renders_the_document_with_no_script_from_elsewhere()
    {
        using var client = app.Browser();

        var response = await client.GetAsync("/docs");
        var html = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        // The page names the document relative to the site's root (scalar.aspnetcore.js resolves it there) and loads its
        // scripts from this service.
        Assert.Contains("\"url\":\"openapi/v1.json\"", html);
        Assert.DoesNotMatch(@"<script[^>]+src=""(https?:)?//", html);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/docs/scalar.js")).StatusCode);
    }

    [Fact]
    public async Task json_and_the_widget_go_compressed_and_the_widget_is_kept_between_visits()
    {
        var site = await app.NewSiteAsync();
        using var client = app.Browser();
        client.DefaultRequestHeaders.AcceptEncoding.Add(new StringWithQualityHeaderValue("br"));
        client.DefaultRequestHeaders.AcceptEncoding.Add(new StringWithQualityHeaderValue("gzip"));

        var script = await client.GetAsync("/widget.js");
        var plain = await app.Browser().GetByteArrayAsync("/widget.js");
        var compressed = await script.Content.ReadAsByteArrayAsync();
        var openapi = await client.GetAsync("/openapi/v1.json");
        using var again = new HttpRequestMessage(HttpMethod.Get, "/widget.js");
        again.Headers.IfNoneMatch.Add(script.Headers.ETag!);
        var revalidated = await client.SendAsync(again);

        Assert.Equal("br", Assert.Single(script.Content.Headers.ContentEncoding));
        Assert.True(compressed.Length < plain.Length / 2, $"{compressed.Length} of {plain.Length} bytes");
        Assert.Contains("max-age=3600", script.Headers.CacheControl!.ToString());
        Assert.Contains("Accept-Encoding", script.Headers.Vary);
        Assert.Equal(HttpStatusCode.NotModified, revalidated.StatusCode);
        Assert.Contains(Assert.Single(openapi.Content.Headers.ContentEncoding), new[] { "br", "gzip" });
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/api/v1/sites/{site}/counters")).StatusCode);
    }

    [Fact]
    public async Task counters_are_sent_in_the_encoding_the_reader_accepts_and_decode_to_the_same_figures()
    {
        var site = await app.NewSiteAsync();
        var path = $"/api/v1/sites/{site}/counters";
        Assert.Equal(HttpStatusCode.OK, (await app.Browser().GetAsync(path)).StatusCode);

        async Task<(string? Encoding, string Json)> Read(string acceptEncoding)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.TryAddWithoutValidation("Accept-Encoding", acceptEncoding);
            using var response = await app.Browser().SendAsync(request);
            Assert.Contains("Accept-Encoding", response.Headers.Vary);
            var encoding = response.Content.Headers.ContentEncoding.SingleOrDefault();
            await using var raw = await response.Content.ReadAsStreamAsync();
            await using Stream decoded = encoding switch
            {
                "br" => new System.IO.Compression.BrotliStream(raw, System.IO.Compression.CompressionMode.Decompress),
                "gzip" => new System.IO.Compression.GZipStream(raw, System.IO.Compression.CompressionMode.Decompress),
                _ => raw,
            };
            using var reader = new StreamReader(decoded);
            var figures = System.Text.Json.Nodes.JsonNode.Parse(await reader.ReadToEndAsync())!.AsObject();
            figures.Remove("asOf"); // the moment of the snapshot moves between reads; the figures must not
            return (encoding, figures.ToJsonString());
        }

        var plain = await Read("identity");
        var brotli = await Read("gzip, br");
        var gzip = await Read("br;q=0, gzip");

        Assert.Null(plain.Encoding);
        Assert.Equal("br", brotli.Encoding);
        Assert.Equal("gzip", gzip.Encoding);
        Assert.Equal(plain.Json, brotli.Json);
        Assert.Equal(plain.Json, gzip.Json);
    }
}
