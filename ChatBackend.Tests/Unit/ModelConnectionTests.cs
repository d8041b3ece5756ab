using ChatBackend.ApiService.Model;
using Microsoft.Extensions.Configuration;

namespace ChatBackend.Tests.Unit;

/// <summary>Which model the settings of SPEC §5 choose; unit tests of the parser, without HTTP.</summary>
[Trait("Category", "Unit")]
public sealed class ModelConnectionTests
{
    [Fact]
    public void NothingConfiguredIsTheOfflineResponder()
    {
        Assert.True(ModelConnection.TryRead(Settings(), out var connection, out _));

        Assert.Equal(ModelProvider.Offline, connection.Provider);
    }

    [Fact]
    public void TheOriginalsApiKeyVariableIsOpenAIWithGpt4oMini()
    {
        Assert.True(ModelConnection.TryRead(Settings(("OPENAI_API_KEY", "sk-original")), out var connection, out _));

        Assert.Equal(new ModelConnection(ModelProvider.OpenAI, null, "sk-original", "gpt-4o-mini"), connection);
    }

    [Fact]
    public void TheConnectionStringWinsOverTheApiKeyVariable()
    {
        Assert.True(ModelConnection.TryRead(
            Settings(("ConnectionStrings:openai", "Endpoint=http://localhost:11434/v1;Model=llama3.2"), ("OPENAI_API_KEY", "sk-original")),
            out var connection, out _));

        Assert.Equal(new ModelConnection(ModelProvider.OpenAI, new Uri("http://localhost:11434/v1"), null, "llama3.2"), connection);
    }

    [Fact]
    public void ADeploymentKeyIsAzureOpenAIAndWithoutAKeyItUsesAzureIdentity()
    {
        Assert.True(ModelConnection.TryRead(
            Settings(("ConnectionStrings:openai", "Endpoint=https://team.openai.azure.com/;Deployment=gpt-4o")), out var connection, out _));

        Assert.Equal(new ModelConnection(ModelProvider.AzureOpenAI, new Uri("https://team.openai.azure.com/"), null, "gpt-4o"), connection);
        Assert.Contains("Azure identity", connection.Describe());
    }

    [Fact]
    public void AKeyAloneIsOpenAIItselfWithTheOriginalsModel()
    {
        Assert.True(ModelConnection.TryRead(Settings(("ConnectionStrings:openai", "Key=sk-1")), out var connection, out _));

        Assert.Equal(new ModelConnection(ModelProvider.OpenAI, null, "sk-1", "gpt-4o-mini"), connection);
    }

    [Fact]
    public void TheKeyIsNeverInTheConnectionsText()
    {
        var connection = new ModelConnection(ModelProvider.OpenAI, new Uri("https://proxy-user:pw-hidden@llm.example/v1"), "sk-hidden", "gpt-4o");

        Assert.DoesNotContain("sk-hidden", connection.ToString());
        Assert.DoesNotContain("hidden", connection.Describe());
        Assert.Contains("https://llm.example/v1", connection.Describe());
    }

    [Theory]
    [InlineData("Endpoint=\"unclosed;Key=sk-x")]
    [InlineData("Endpoint=ftp://host/;Key=sk-x;Model=m")]
    public void AMalformedConnectionStringIsAnErrorNamingTheKeyWithoutTheSecret(string value)
    {
        Assert.False(ModelConnection.TryRead(Settings(("ConnectionStrings:openai", value)), out _, out var error));

        Assert.StartsWith("ConnectionStrings:openai", error);
        Assert.DoesNotContain("sk-x", error);
    }

    private static IConfiguration Settings(params (string Key, string Value)[] values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value))).Build();
}
