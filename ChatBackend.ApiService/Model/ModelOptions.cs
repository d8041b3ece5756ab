using Microsoft.Extensions.Options;

namespace ChatBackend.ApiService.Model;

/// <summary>The model connection as an option, so that a malformed one stops the API at start (ValidateOnStart).</summary>
public sealed class ModelOptions
{
    public ModelConnection Connection { get; set; } = ModelConnection.Offline;

    internal string? Error { get; set; }

    internal sealed class Setup(IConfiguration configuration) : IConfigureOptions<ModelOptions>
    {
        public void Configure(ModelOptions options)
        {
            ModelConnection.TryRead(configuration, out var connection, out var error);
            options.Connection = connection;
            options.Error = error;
        }
    }

    internal sealed class Validator : IValidateOptions<ModelOptions>
    {
        public ValidateOptionsResult Validate(string? name, ModelOptions options) =>
            options.Error is null ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(options.Error);
    }
}
