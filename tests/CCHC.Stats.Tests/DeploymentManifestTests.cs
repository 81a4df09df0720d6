using System.Reflection;
using CCHC.Stats.Api.Hosting;
using CCHC.Stats.Api.Operations;
using YamlDotNet.RepresentationModel;

namespace CCHC.Stats.Tests;

/// <summary>
/// deploy/kubernetes and deploy/compose.yaml parse, refer to each other consistently (labels, ports, names), probe
/// the service's real health endpoints and set only settings the service reads. No cluster here: this is the check.
/// </summary>
public sealed class DeploymentManifestTests
{
    private static readonly string Deploy = Path.Combine(RepositoryRoot(), "deploy");

    [Fact]
    public void every_manifest_is_listed_in_the_kustomization_and_names_its_kind()
    {
        var folder = Path.Combine(Deploy, "kubernetes");
        var kustomization = Load(Path.Combine(folder, "kustomization.yaml")).Single();
        var listed = Sequence(kustomization, "resources").Select(n => n.ToString()).ToHashSet();
        var files = Directory.GetFiles(folder, "*.yaml").Select(f => Path.GetFileName(f)).Where(f => f != "kustomization.yaml").ToHashSet();

        Assert.Equal(files, listed);
        Assert.All(Manifests(), m =>
        {
            Assert.False(string.IsNullOrEmpty(Scalar(m, "apiVersion")));
            Assert.False(string.IsNullOrEmpty(Scalar(m, "kind")));
            Assert.False(string.IsNullOrEmpty(Scalar(m, "metadata", "name")));
        });
    }

    [Fact]
    public void the_deployment_probes_the_health_endpoints_and_takes_its_settings_from_the_config_map_and_secret()
    {
        var deployment = Kind("Deployment");
        var pod = Mapping(deployment, "spec", "template");
        var container = Sequence(pod, "spec", "containers").Cast<YamlMappingNode>().Single();
        var ports = Sequence(container, "ports").Cast<YamlMappingNode>().ToDictionary(p => Scalar(p, "name"), p => Scalar(p, "containerPort"));

        Assert.True(int.Parse(Scalar(deployment, "spec", "replicas")) >= 3);
        Assert.Equal(Labels(Mapping(deployment, "spec", "selector", "matchLabels")), Labels(Mapping(pod, "metadata", "labels")));
        Assert.Equal("8080", ports["http"]);
        Assert.Equal(OperationsModule.ReadyPath, Scalar(container, "readinessProbe", "httpGet", "path"));
        Assert.Equal(OperationsModule.LivePath, Scalar(container, "livenessProbe", "httpGet", "path"));
        Assert.Contains(Scalar(container, "readinessProbe", "httpGet", "port"), ports.Keys);
        Assert.Contains(Scalar(container, "livenessProbe", "httpGet", "port"), ports.Keys);

        var sources = Sequence(container, "envFrom").Cast<YamlMappingNode>().ToList();
        Assert.Contains(sources, s => s.Children.ContainsKey("configMapRef") && Scalar(s, "configMapRef", "name") == Scalar(Kind("ConfigMap"), "metadata", "name"));
        Assert.Contains(sources, s => s.Children.ContainsKey("secretRef") && Scalar(s, "secretRef", "name") == Scalar(Kind("Secret"), "metadata", "name"));
    }

    [Fact]
    public void the_service_autoscaler_and_disruption_budget_point_at_the_deployment()
    {
        var deployment = Kind("Deployment");
        var podLabels = Labels(Mapping(deployment, "spec", "template", "metadata", "labels"));
        var container = Sequence(deployment, "spec", "template", "spec", "containers").Cast<YamlMappingNode>().Single();
        var portNames = Sequence(container, "ports").Cast<YamlMappingNode>().Select(p => Scalar(p, "name")).ToList();

        var service = Kind("Service");
        Assert.Equal(podLabels, Labels(Mapping(service, "spec", "selector")));
        Assert.All(Sequence(service, "spec", "ports").Cast<YamlMappingNode>(), p => Assert.Contains(Scalar(p, "targetPort"), portNames));

        var autoscaler = Kind("HorizontalPodAutoscaler");
        Assert.Equal("Deployment", Scalar(autoscaler, "spec", "scaleTargetRef", "kind"));
        Assert.Equal(Scalar(deployment, "metadata", "name"), Scalar(autoscaler, "spec", "scaleTargetRef", "name"));
        Assert.True(int.Parse(Scalar(autoscaler, "spec", "minReplicas")) >= 2);
        Assert.True(int.Parse(Scalar(autoscaler, "spec", "maxReplicas")) >= int.Parse(Scalar(autoscaler, "spec", "minReplicas")));

        var budget = Kind("PodDisruptionBudget");
        Assert.Equal(podLabels, Labels(Mapping(budget, "spec", "selector", "matchLabels")));
    }

    [Fact]
    public void kubernetes_sets_only_settings_the_service_reads_and_everything_rabbitmq_needs()
    {
        var settings = Labels(Mapping(Kind("ConfigMap"), "data"))
            .Concat(Labels(Mapping(Kind("Secret"), "stringData")))
            .ToDictionary();

        AssertKnown(settings);
        Assert.Equal("rabbitmq", settings["Stats__Transport"]);
        Assert.StartsWith("amqp://", settings["ConnectionStrings__RabbitMq"]);
        Assert.Contains("Host=", settings["ConnectionStrings__Postgres"]);
    }

    [Fact]
    public void compose_runs_three_replicas_on_rabbitmq_behind_the_load_balancer_it_trusts()
    {
        var compose = Load(Path.Combine(Deploy, "compose.yaml")).Single();
        var services = Mapping(compose, "services");
        var stats = Mapping(services, "stats");
        var settings = Labels(Mapping(stats, "environment"));

        Assert.Equal("3", Scalar(stats, "deploy", "replicas"));
        AssertKnown(settings);
        Assert.Equal("rabbitmq", settings["Stats__Transport"]);
        Assert.True(services.Children.ContainsKey("rabbitmq") && services.Children.ContainsKey("postgres"));
        Assert.Equal(settings["Stats__TrustedProxies"], Scalar(services, "lb", "networks", "default", "ipv4_address"));
        Assert.Contains("proxy_pass $stats", File.ReadAllText(Path.Combine(Deploy, "nginx", "nginx.conf")));
        Assert.Contains("http://stats:8080", File.ReadAllText(Path.Combine(Deploy, "nginx", "nginx.conf")));
    }

    /// <summary>Connection strings, OpenTelemetry's own variables, or a property of <see cref="StatsOptions"/>.</summary>
    private static void AssertKnown(IReadOnlyDictionary<string, string> settings)
    {
        var options = typeof(StatsOptions).GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Select(p => $"{StatsOptions.Section}__{p.Name}").Append("Stats__TrustedProxies").ToHashSet();
        Assert.All(settings.Keys, key => Assert.True(
            key is "ConnectionStrings__Postgres" or "ConnectionStrings__RabbitMq" || key.StartsWith("OTEL_") || options.Contains(key),
            $"{key} is not a setting the service reads"));
    }

    private static IEnumerable<YamlMappingNode> Manifests() =>
        Directory.GetFiles(Path.Combine(Deploy, "kubernetes"), "*.yaml")
            .Where(f => Path.GetFileName(f) != "kustomization.yaml")
            .SelectMany(Load);

    private static YamlMappingNode Kind(string kind) => Manifests().Single(m => Scalar(m, "kind") == kind);

    private static IEnumerable<YamlMappingNode> Load(string path)
    {
        var stream = new YamlStream();
        using var reader = new StreamReader(path);
        stream.Load(reader);
        return stream.Documents.Select(d => (YamlMappingNode)d.RootNode);
    }

    private static YamlNode Node(YamlNode node, params string[] path) =>
        path.Aggregate(node, (current, key) => ((YamlMappingNode)current).Children[new YamlScalarNode(key)]);

    private static YamlMappingNode Mapping(YamlNode node, params string[] path) => (YamlMappingNode)Node(node, path);

    private static YamlSequenceNode Sequence(YamlNode node, params string[] path) => (YamlSequenceNode)Node(node, path);

    private static string Scalar(YamlNode node, params string[] path) => ((YamlScalarNode)Node(node, path)).Value ?? "";

    private static Dictionary<string, string> Labels(YamlMappingNode node) =>
        node.Children.ToDictionary(c => ((YamlScalarNode)c.Key).Value!, c => ((YamlScalarNode)c.Value).Value ?? "");

    private static string RepositoryRoot()
    {
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "CCHC.Stats.sln")))
        {
            root = root.Parent;
        }

        return root?.FullName ?? throw new InvalidOperationException("Repository root not found.");
    }
}
