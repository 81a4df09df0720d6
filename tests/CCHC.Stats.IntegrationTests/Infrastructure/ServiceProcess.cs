using System.Diagnostics;
using System.Net.Sockets;
using Npgsql;

namespace CCHC.Stats.IntegrationTests.Infrastructure;

/// <summary>
/// The service as a real process (its build output, run with <c>dotnet</c>), for the tests that kill it:
/// an in-process host cannot be SIGKILLed.
/// </summary>
public sealed class ServiceProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly List<string> _output = [];

    private ServiceProcess(Process process, Uri address)
    {
        _process = process;
        Address = address;
    }

    public Uri Address { get; }

    /// <summary>Everything the process wrote to stdout and stderr so far.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return string.Join('\n', _output);
            }
        }
    }

    public static async Task<ServiceProcess> StartAsync(string connectionString, int? port = null, IReadOnlyDictionary<string, string>? settings = null)
    {
        var address = new Uri($"http://127.0.0.1:{port ?? FreePort()}");
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(ServiceDll());
        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add(address.ToString());
        start.Environment["ConnectionStrings__Postgres"] = connectionString;
        start.Environment["Stats__AdminKey"] = StatsApp.AdminKey;
        start.Environment["Stats__AuditorKey"] = StatsApp.AuditorKey;
        start.Environment["Stats__IngestKey"] = StatsApp.IngestKey;
        start.Environment["Stats__ViewsPerClientPerMinute"] = "0";
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start the service.");
        var service = new ServiceProcess(process, address);
        service.Drain(process.StandardOutput);
        service.Drain(process.StandardError);
        await service.WaitUntilReadyAsync();
        return service;
    }

    /// <summary>A client of this process, as a browser (a browser User-Agent) or with a bearer key.</summary>
    public HttpClient Client(string? key = null, TimeSpan? timeout = null)
    {
        var client = new HttpClient { BaseAddress = Address, Timeout = timeout ?? TimeSpan.FromSeconds(100) };
        client.DefaultRequestHeaders.UserAgent.ParseAdd(StatsApp.BrowserAgent);
        if (key is not null)
        {
            client.DefaultRequestHeaders.Authorization = new("Bearer", key);
        }

        return client;
    }

    /// <summary>
    /// Reads <paramref name="path"/> as a careful client would (<see cref="CarefulReads"/>). A read with no answer in
    /// <paramref name="timeout"/> (30 s by default) fails the test with what the process wrote and what its database's
    /// sessions were doing at that moment.
    /// </summary>
    public async Task<T> ReadWithinAsync<T>(string path, string connectionString, TimeSpan? timeout = null)
    {
        using var client = Client(timeout: timeout ?? TimeSpan.FromSeconds(30));
        try
        {
            return await client.GetAnsweredAsync<T>(path);
        }
        catch (TaskCanceledException)
        {
            Assert.Fail($"GET {path} had no answer in {client.Timeout.TotalSeconds} s.\n" +
                $"The database's sessions:\n{await SessionsAsync(connectionString)}\nThe process wrote:\n{Output[^Math.Min(Output.Length, 8000)..]}");
            throw;
        }
    }

    /// <summary>What each session on the database of <paramref name="connectionString"/> is doing, one line each.</summary>
    private static async Task<string> SessionsAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            """
            SELECT string_agg(format('%s %s %s/%s %ss: %s', pid, state, wait_event_type, wait_event,
                round(extract(epoch FROM now() - query_start)), left(query, 200)), E'\n')
            FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()
            """, connection);
        return (await command.ExecuteScalarAsync()) as string ?? "(none)";
    }

    /// <summary>Registers a site (admin key) whose pages are on <paramref name="hosts"/>.</summary>
    public async Task AddSiteAsync(string siteId, params string[] hosts)
    {
        using var admin = Client(StatsApp.AdminKey);
        (await admin.PutAsJsonAsync($"/api/v1/sites/{siteId}", new SiteRequest(siteId, null, hosts, null))).EnsureSuccessStatusCode();
    }

    /// <summary>SIGKILL: no shutdown hooks, no flushing, as a crash or an OOM kill would be.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process.Dispose();
    }

    /// <summary>
    /// Reads the process's output on a thread of its own, never the thread pool's: a service logging at Trace fills a pipe
    /// in milliseconds, and a pipe not drained while this test process's pool is busy stops the service at its next log
    /// line (the console logger waits for room), in the middle of whatever request it was answering.
    /// </summary>
    private void Drain(StreamReader output) => new Thread(() =>
    {
        while (output.ReadLine() is { } line)
        {
            lock (_output)
            {
                _output.Add(line);
            }
        }
    }) { IsBackground = true, Name = "service output" }.Start();

    private async Task WaitUntilReadyAsync()
    {
        using var client = new HttpClient { BaseAddress = Address, Timeout = TimeSpan.FromSeconds(2) };
        await Eventually.Until(async () =>
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"The service exited ({_process.ExitCode}):\n{Output[^Math.Min(Output.Length, 8000)..]}");
            }

            return (await client.GetAsync("/health/ready")).IsSuccessStatusCode;
        }, TimeSpan.FromSeconds(90), () => $"The service did not become ready:\n{Output[^Math.Min(Output.Length, 8000)..]}");
    }

    /// <summary>The service's own build output, beside this test assembly's configuration.</summary>
    private static string ServiceDll()
    {
        var configuration = new DirectoryInfo(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory)).Parent!.Name;
        var dll = Path.Combine(RepositoryRoot(), "services", "CCHC.Stats.Api", "bin", configuration, "net10.0", "CCHC.Stats.Api.dll");
        return File.Exists(dll) ? dll : throw new FileNotFoundException("Build the service first.", dll);
    }

    /// <summary>The folder holding <c>CCHC.Stats.sln</c>, above this test assembly.</summary>
    public static string RepositoryRoot()
    {
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "CCHC.Stats.sln")))
        {
            root = root.Parent;
        }

        return root?.FullName ?? throw new InvalidOperationException("Repository root not found.");
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
